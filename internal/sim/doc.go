// Package sim is Carnot's digital twin: a discrete-event simulation that
// replays a workload on a virtual facility by driving exactly the
// production scheduling core. Events (arrivals, completions, evictions,
// wake-ups) sit in a heap ordered by time and then by a sequence number,
// so ties resolve the same way on every run; after each instant's events
// the twin takes a snapshot, calls sched.Schedule, checks the plan with
// plan.Verify and applies it to its virtual cluster. The twin makes no
// scheduling decision of its own.
package sim
