package yamlin

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in an input file: where it is and what is wrong.
// Line is 1-based; 0 means the problem concerns the whole file.
type Error struct {
	File string // the name given to the loader, e.g. "jobs.yaml"
	Line int    // physical line; 0 if unknown
	Path string // field path, e.g. "jobs[3].replicas"; "" for the file
	Msg  string // what is wrong and, where it helps, what to do
}

// Error reads "file:line: path: message", leaving out the line when it
// is 0 and the path when it is empty.
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

// List is every problem found in one file. It is generic so that a
// loader with its own error type (internal/facility) shares it.
type List[E error] []E

// ErrorList is the List the loaders return; use errors.As to get at the
// list or at each *Error inside it.
type ErrorList = List[*Error]

// Error joins the problems one per line.
func (l List[E]) Error() string {
	if len(l) == 0 {
		return "no errors"
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

// Unwrap returns the entries so that errors.Is and errors.As reach them.
func (l List[E]) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Collector gathers the problems of one file, so that one pass reports
// as many as it can.
type Collector struct {
	File string // the file name every Error carries
	// Max bounds the problems kept; beyond it they are only counted, and
	// Err ends the list with a note saying how many were left out. 0
	// keeps them all.
	Max int

	list    ErrorList
	dropped int
}

// Add records a problem at line (0 for the whole file) and field path.
func (c *Collector) Add(line int, path, format string, args ...any) {
	if c.Max > 0 && len(c.list) >= c.Max {
		c.dropped++
		return
	}
	c.list = append(c.list, &Error{File: c.File, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Count is the number of problems recorded so far, kept or not.
func (c *Collector) Count() int { return len(c.list) + c.dropped }

// Err returns the problems as an ErrorList sorted by line (stable, so
// problems on one line keep their order), or nil when there are none.
func (c *Collector) Err() error {
	if len(c.list) == 0 {
		return nil
	}
	sort.SliceStable(c.list, func(i, j int) bool { return c.list[i].Line < c.list[j].Line })
	if c.dropped > 0 {
		note := &Error{File: c.File, Msg: fmt.Sprintf("%d more problems not shown; fix the ones above first", c.dropped)}
		return append(c.list[:len(c.list):len(c.list)], note)
	}
	return c.list
}
