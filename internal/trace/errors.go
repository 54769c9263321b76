package trace

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/yamlin"
)

// MaxErrors bounds the problems a reader reports for one file; beyond it
// the list ends with a note saying how many more there were.
const MaxErrors = 200

// Error is one problem in a trace file. Line and Column are 1-based
// (columns count bytes); 0 means unknown, and a Line of 0 means the
// problem concerns the whole file. Field is the CSV column at fault, ""
// when the problem is not about one value.
type Error struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string // what is wrong and how to fix it
}

// Error reads "file:line:column: field: message", leaving out what is
// unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, in file order. The readers
// return it (never empty) when a file is invalid; errors.As finds both
// the list and each *Error inside it, and its Error joins them one per
// line.
type Errors = yamlin.List[*Error]

// collector gathers the problems of one file, keeping at most MaxErrors.
type collector struct {
	file    string
	list    Errors
	dropped int
}

func (c *collector) add(line, col int, field, format string, args ...any) {
	if len(c.list) >= MaxErrors {
		c.dropped++
		return
	}
	c.list = append(c.list, &Error{File: c.file, Line: line, Column: col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Count is the number of problems recorded so far, kept or not.
func (c *collector) Count() int { return len(c.list) + c.dropped }

// full reports whether further problems would only be counted.
func (c *collector) full() bool { return len(c.list) >= MaxErrors }

// err returns the list, or nil when there are no problems. Rows are read
// in order, so the list is already sorted by line.
func (c *collector) err() error {
	if len(c.list) == 0 {
		return nil
	}
	if c.dropped > 0 {
		return append(c.list, &Error{File: c.file, Msg: fmt.Sprintf("%d more problems not shown; fix the ones above first", c.dropped)})
	}
	return c.list
}
