package server

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A deployment's replicas are independent: one that ends frees its place
// and the core starts another. One that ends soon after it started (a
// crash, a command that cannot start, or one that exits 0 at once) would
// then be replaced at once, end again and be replaced again, as fast as
// passes run. So the first replica to end within crashWindow of its
// start is replaced at once, and each further one in a row only after a
// back-off that doubles from crashBackoff to crashBackoffMax
// (Kubernetes' CrashLoopBackOff, which does not look at the exit code
// either): its GPUs stay with the deployment, idle, until then. A
// replica that ran longer or was lost with its node resets the count and
// is replaced at once. The count and each back-off's end are
// in the job's document (api.Job.Crashes, api.Replica.ReplaceAt): a
// restarted server or a new leader waits as this one would have.
const (
	crashWindow     = 10 * time.Minute
	crashBackoff    = 10 * time.Second
	crashBackoffMax = 5 * time.Minute
)

// endedReplica frees ended replica i of running deployment js: at once,
// or after a back-off when it crashed. Caller holds mu.
func (s *Server) endedReplica(js *jobState, i int, now time.Time, c *changes) {
	r := &js.doc.Replicas[i]
	s.countCrash(js, r, now)
	runsOn(js)
	if s.mayStillRun(r) { // its rank is not given twice (lost_rank.go)
		s.keepLost(js, i, c)
		return
	}
	if js.doc.Crashes <= 1 { // a replica that ran, or the first to crash
		s.release(js, i, now, c)
		return
	}
	d := crashDelay(js.doc.Crashes)
	r.ReplaceAt = ptrTime(now.Add(d).UTC())
	runsOn(js) // its message says it backs off
	s.backOff(js, r.Index, *r.ReplaceAt)
	c.job(js, api.EventReplica, fmt.Sprintf("replica %d is replaced in %s: %d replica(s) in a row ended within %s of their start",
		r.Index, d, js.doc.Crashes, crashWindow))
}

// countCrash counts ended replica r of running deployment js in its
// crashes in a row (api.Job.Crashes), or ends the row.
func (s *Server) countCrash(js *jobState, r *api.Replica, now time.Time) {
	crashed := (r.State == api.ReplicaFailed || r.State == api.ReplicaExited) &&
		(r.StartedAt == nil || now.Sub(*r.StartedAt) < crashWindow)
	if !crashed {
		js.doc.Crashes = 0
	} else {
		js.doc.Crashes++
	}
}

// crashDelay is the back-off after the crashes-th crash in a row (≥ 2).
func crashDelay(crashes int) time.Duration {
	return min(crashBackoff<<min(crashes-2, 16), crashBackoffMax)
}

// restartDelay is how long deployment js, queued again by its restart
// policy as its last replica ended, waits before it is considered: a
// back-off when that replica crashed in a row (its crashes carry over
// to the next attempt), else none. Caller holds mu.
func restartDelay(js *jobState) time.Duration {
	if js.job.Kind != model.KindDeployment || js.doc.Crashes <= 1 {
		return 0
	}
	return crashDelay(js.doc.Crashes)
}

// holdRestart keeps restarting deployment js out of the queue until at.
// Caller holds mu.
func (s *Server) holdRestart(js *jobState, at time.Time) {
	js.restartAt = at
	s.restarting[js.doc.ID] = js
}

// backOff keeps the replica of index i of js from its replacement until
// at. Caller holds mu.
func (s *Server) backOff(js *jobState, i int, at time.Time) {
	if js.releaseAt == nil {
		js.releaseAt = map[int]time.Time{}
	}
	js.releaseAt[i] = at
	s.backingOff[js.doc.ID] = js
}

// releaseDue frees the replicas whose back-off is over, and queues the
// deployments whose wait for a silent node is over. Caller holds mu.
func (s *Server) releaseDue(now time.Time, c *changes) {
	s.releaseSilentWaits(c)
	for _, id := range slices.Sorted(maps.Keys(s.restarting)) {
		js := s.restarting[id]
		if s.jobs[id] != js || js.doc.State != api.StatePending {
			js.restartAt = time.Time{}
			delete(s.restarting, id)
			continue
		}
		if !now.Before(js.restartAt) {
			js.restartAt = time.Time{}
			delete(s.restarting, id)
			s.requeue(js)
			c.kick = true
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.backingOff)) {
		js := s.backingOff[id]
		if js.alloc == nil || js.stop != stopNone || s.jobs[id] != js {
			js.releaseAt = nil
			delete(s.backingOff, id)
			continue
		}
		for _, i := range slices.Sorted(maps.Keys(js.releaseAt)) {
			if !now.Before(js.releaseAt[i]) {
				delete(js.releaseAt, i)
				if pos := replicaAt(js.doc.Replicas, i); pos >= 0 {
					s.release(js, pos, now, c)
				}
			}
		}
		if len(js.releaseAt) == 0 {
			delete(s.backingOff, id)
		}
	}
}

// nextRelease is when the next back-off ends (zero: none). Caller holds mu.
func (s *Server) nextRelease() time.Time {
	var next time.Time
	for _, js := range s.restarting {
		if next.IsZero() || js.restartAt.Before(next) {
			next = js.restartAt
		}
	}
	for _, js := range s.backingOff {
		for _, t := range js.releaseAt {
			if next.IsZero() || t.Before(next) {
				next = t
			}
		}
	}
	return next
}

// restoreRestartHold gives a reloaded deployment, queued again after its
// last replica crashed in a row, the rest of its back-off: from that
// replica's end, which its record keeps until the next attempt. Caller
// has the server to itself.
func (s *Server) restoreRestartHold(js *jobState, now time.Time) {
	d := restartDelay(js)
	if js.doc.State != api.StatePending || d == 0 {
		return
	}
	var last time.Time
	for _, r := range js.doc.Replicas {
		if r.EndedAt != nil && r.EndedAt.After(last) {
			last = *r.EndedAt
		}
	}
	if at := last.Add(d); !last.IsZero() && at.After(now) {
		s.holdRestart(js, at)
	}
}
