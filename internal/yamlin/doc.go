// Package yamlin reads YAML input with line-numbered errors. It holds
// what the input loaders (internal/jobspec, internal/state,
// internal/scenario) share:
//
//   - Error, List and Collector: one problem in a file as
//     "file:line: path: message", every problem of a file sorted by line
//     and bounded in number, reachable with errors.As.
//   - Node: a small tree that remembers the line of every value, and
//     Reader, which builds it from goccy/go-yaml's AST, resolving
//     anchors, aliases and merge keys and bounding nesting so that
//     hostile input yields errors, not crashes.
//   - Limits: what one input may cost, counted, never timed: its bytes
//     (ReadFile refuses a file by its size before reading it), its words
//     and marks (the parser's tokens), its nesting and the keys of a
//     block mapping, all checked before the parser builds its syntax
//     tree, whose cost grows faster than the input; and the values a
//     document expands to through aliases and merge keys (Budget), which
//     Convert counts. Each loader, internal/facility too, sets its own.
//   - One reading of numbers for every loader (internal/facility too):
//     PlainFloat takes 1e3 for the YAML 1.2 number it is, Float and
//     IntegerProblem (DurationProblem for seconds) name what is wrong
//     with .inf, 1.5 where a whole number is due, or a value beyond
//     int64 or float64.
//   - CSVSyntax: a CSV reader's syntax error in words that say what to
//     fix, for the CSV loaders (internal/trace, internal/grid).
//
// The loaders decode their own schemas from the tree and word their own
// messages; this package knows nothing of jobs or clusters.
package yamlin
