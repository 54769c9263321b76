package jobspec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/yamlin"
)

// Error is one problem in a job file: where it is and what is wrong. It
// reads "file:line: path: message", e.g. "jobs.yaml:12: jobs[3].replicas:
// must be ≥ 1 (got 0)"; Line 0 means the whole file.
type Error = yamlin.Error

// ErrorList is every problem found in one file, sorted by line. Load
// returns it as its error; use errors.As to get at the entries.
type ErrorList = yamlin.ErrorList

// MaxListed is how many problems of one file an error made by Brief
// shows.
const MaxListed = 50

// Brief is err for a person to read: an ErrorList of more than MaxListed
// problems reads as its first MaxListed and a line that counts the rest
// ("… and 70 more problems in jobs.jsonl"), as carnot workload validate
// prints them, where a file with a problem in every job was listed
// whole. errors.As still reaches the list and every problem in it. Any
// other error is returned as it is.
func Brief(err error) error {
	var list ErrorList
	if !errors.As(err, &list) || len(list) <= MaxListed {
		return err
	}
	return &brief{err: err, list: list}
}

type brief struct {
	err  error
	list ErrorList
}

func (b *brief) Error() string {
	var s strings.Builder
	for _, e := range b.list[:MaxListed] {
		s.WriteString(e.Error())
		s.WriteByte('\n')
	}
	fmt.Fprintf(&s, "… and %d more problems in %s", len(b.list)-MaxListed, b.list[MaxListed].File)
	return s.String()
}

func (b *brief) Unwrap() error { return b.err }
