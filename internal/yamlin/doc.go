// Package yamlin reads YAML input with line-numbered errors. It holds
// what the input loaders (internal/jobspec, internal/state) share:
//
//   - Error, List and Collector: one problem in a file as
//     "file:line: path: message", every problem of a file sorted by line
//     and bounded in number, reachable with errors.As.
//   - Node: a small tree that remembers the line of every value, and
//     Reader, which builds it from goccy/go-yaml's AST, resolving
//     anchors, aliases and merge keys and bounding nesting so that
//     hostile input yields errors, not crashes.
//
// The loaders decode their own schemas from the tree and word their own
// messages; this package knows nothing of jobs or clusters.
package yamlin
