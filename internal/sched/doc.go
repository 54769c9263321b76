// Package sched is Carnot's scheduling core: one pure function,
//
//	plan := sched.Schedule(snapshot, now)
//
// that reads a snapshot of the facility (nodes, running allocations,
// pending jobs, usage history, grid series) and returns a plan: starts,
// preemptions, deferrals, reservations, and a reason for every job that
// stays pending. It does no IO, reads no clock, starts no goroutine and
// draws randomness only from the snapshot's seed, so the live server and
// the digital twin get byte-identical plans from identical inputs.
package sched
