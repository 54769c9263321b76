package server

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A deployment's replicas are independent: one that ends frees its place
// and the core starts another. One that fails soon after it started
// (a crash, a command that cannot start) would then be replaced at once,
// fail again and be replaced again, as fast as passes run. So the first
// replica to fail within crashWindow of its start is replaced at once,
// and each further one in a row only after a back-off that doubles from
// crashBackoff to crashBackoffMax (Kubernetes' CrashLoopBackOff): its
// GPUs stay with the deployment, idle, until then. A replica that ran
// longer, ended with exit code 0 or was lost with its node resets the
// count and is replaced at once. The count and each back-off's end are
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
	crashed := (r.State == api.ReplicaFailed || r.State == api.ReplicaExited && (r.ExitCode == nil || *r.ExitCode != 0)) &&
		(r.StartedAt == nil || now.Sub(*r.StartedAt) < crashWindow)
	if !crashed {
		js.doc.Crashes = 0
	} else {
		js.doc.Crashes++
	}
	if js.doc.Crashes <= 1 { // a replica that ran, or the first to crash
		s.release(js, i, now, c)
		return
	}
	d := min(crashBackoff<<min(js.doc.Crashes-2, 16), crashBackoffMax)
	r.ReplaceAt = ptrTime(now.Add(d).UTC())
	s.backOff(js, i, *r.ReplaceAt)
	c.job(js, api.EventReplica, fmt.Sprintf("replica %d is replaced in %s: %d replica(s) in a row failed within %s of their start",
		i, d, js.doc.Crashes, crashWindow))
}

// backOff keeps replica i of js from its replacement until at. Caller
// holds mu.
func (s *Server) backOff(js *jobState, i int, at time.Time) {
	if js.releaseAt == nil {
		js.releaseAt = map[int]time.Time{}
	}
	js.releaseAt[i] = at
	s.backingOff[js.doc.ID] = js
}

// releaseDue frees the replicas whose back-off is over. Caller holds mu.
func (s *Server) releaseDue(now time.Time, c *changes) {
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
				s.release(js, i, now, c)
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
	for _, js := range s.backingOff {
		for _, t := range js.releaseAt {
			if next.IsZero() || t.Before(next) {
				next = t
			}
		}
	}
	return next
}
