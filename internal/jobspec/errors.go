package jobspec

import "github.com/carnot-dc/carnot/internal/yamlin"

// Error is one problem in a job file: where it is and what is wrong. It
// reads "file:line: path: message", e.g. "jobs.yaml:12: jobs[3].replicas:
// must be ≥ 1 (got 0)"; Line 0 means the whole file.
type Error = yamlin.Error

// ErrorList is every problem found in one file, sorted by line. Load
// returns it as its error; use errors.As to get at the entries.
type ErrorList = yamlin.ErrorList
