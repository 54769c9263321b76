// Package state reads state files: the cluster as it is now, beyond the
// facility and the jobs' specs, so that one scheduling pass can start
// from a busy cluster. docs/state.md is the schema; this comment is the
// map of the code.
//
// Load(name, data, fac, jobs) decodes one YAML document:
//
//   - load.go turns the bytes into a yamlin.Node tree that remembers the
//     line of every value (internal/yamlin, shared with internal/jobspec);
//   - decode.go reads scalars, lists and mappings off it: unknown or
//     repeated fields, wrong types and out-of-range numbers are errors
//     naming the field path, e.g. "running[2].placement[0]";
//   - running.go checks running jobs against the workload (the entry's
//     job gives tenant, class, replicas and sizes) and the facility
//     (nodes, GPU indices, models, sites, CPUs and memory, power caps);
//     nodes.go checks node conditions, dirty and claimed GPUs, and usage.
//
// The result is a *State whose Apply fills a model.Snapshot: node
// states, running allocations, the jobs still pending, usage and recent
// preemptions. Times that describe the past are checked against the pass
// time by CheckAt. Every problem is collected; Load returns no state and
// an ErrorList, sorted by line, whose entries read "file:line: path:
// message". Load never panics.
package state
