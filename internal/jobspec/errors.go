package jobspec

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a job file: where it is and what is wrong.
// Line is 1-based; 0 means the problem concerns the whole file.
type Error struct {
	File string // the name given to Load, e.g. "jobs.yaml"
	Line int    // physical line; 0 if unknown
	Path string // field path, e.g. "jobs[3].replicas"; "" for the file
	Msg  string // what is wrong and, where it helps, what to do
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in one file, sorted by line. Load
// returns it as its error; use errors.As to get at the entries.
type ErrorList []*Error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the entries so that errors.As finds an *Error too.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// errs collects errors for one file.
type errs struct {
	file string
	list ErrorList
}

func (c *errs) add(line int, path, format string, args ...any) {
	c.list = append(c.list, &Error{File: c.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// err returns the sorted list, or nil when there is none.
func (c *errs) err() error {
	if len(c.list) == 0 {
		return nil
	}
	sort.SliceStable(c.list, func(i, j int) bool { return c.list[i].Line < c.list[j].Line })
	return c.list
}
