package facility

import (
	"cmp"
	"slices"

	"github.com/carnot-dc/carnot/internal/yamlin"
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

// Error reads "file:line: field: message", as the job and state files'
// errors do (internal/yamlin).
func (e *Error) Error() string {
	return (&yamlin.Error{File: e.File, Line: e.Line, Path: e.Field, Msg: e.Msg}).Error()
}

// Errors is every problem found in one facility description, sorted by
// line. Load and LoadFile return it (never empty) when the file is
// invalid; errors.As finds both Errors and each *Error inside it. Its
// Error joins the problems one per line.
type Errors = yamlin.List[*Error]

// sortErrors orders problems by line, then field, then message, and drops
// exact duplicates (an alias or merge key can make one problem appear
// twice).
func sortErrors(es Errors) Errors {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Field, b.Field), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.CompactFunc(es, func(a, b *Error) bool { return *a == *b })
}
