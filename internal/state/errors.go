package state

import "github.com/carnot-dc/carnot/internal/yamlin"

// Error is one problem in a state file: where it is and what is wrong. It
// reads "file:line: path: message", e.g. "state.yaml:4:
// running[2].placement[0]: unknown node ..."; Line 0 means the whole file.
type Error = yamlin.Error

// ErrorList is every problem found in one file, sorted by line and
// bounded in number. Load returns it as its error; use errors.As to get
// at the entries.
type ErrorList = yamlin.ErrorList
