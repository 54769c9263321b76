package state

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a state file: where it is and what is wrong.
// Line is 1-based; 0 means the problem concerns the whole file.
type Error struct {
	File string // the name given to Load, e.g. "state.yaml"
	Line int    // physical line; 0 if unknown
	Path string // field path, e.g. "running[2].placement[0]"; "" for the file
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
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the entries so that errors.As finds an *Error too.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// maxErrors bounds the problems reported for one file.
const maxErrors = 200

// errs collects errors for one file.
type errs struct {
	file    string
	list    ErrorList
	dropped int
}

func (c *errs) add(line int, path, format string, args ...any) {
	if len(c.list) >= maxErrors {
		c.dropped++
		return
	}
	c.list = append(c.list, &Error{File: c.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// err returns the sorted list, or nil when there is none.
func (c *errs) err() error {
	if len(c.list) == 0 {
		return nil
	}
	sort.SliceStable(c.list, func(i, j int) bool { return c.list[i].Line < c.list[j].Line })
	if c.dropped > 0 {
		c.list = append(c.list, &Error{File: c.file, Msg: fmt.Sprintf("%d more problems not shown; fix the ones above first", c.dropped)})
	}
	return c.list
}
