package facility

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem found in a facility description. Line is 1-based;
// 0 means the problem concerns the whole file (it could not be read, or
// it is empty). Field is the path of the offending field, for example
// "sites[0].halls[1].racks[2].power_cap_kw"; it is empty for syntax
// errors.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string // what is wrong and how to fix it
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one facility description, sorted by
// line. Load and LoadFile return it (never empty) when the file is
// invalid; errors.As finds both Errors and each *Error inside it.
type Errors []*Error

// Error joins the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortErrors orders problems by line, then field, then message, and drops
// exact duplicates (an alias or merge key can make one problem appear
// twice).
func sortErrors(es Errors) Errors {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Field, b.Field), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.CompactFunc(es, func(a, b *Error) bool { return *a == *b })
}
