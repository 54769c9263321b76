package server

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// A plan entry that plan.Verify refuses at commit loses only its own
// job's part: a pending job's reason with an estimated start before the
// pass (a victim overdue, in an older core) used to stay in the plan
// round after round, until the server dropped every start of it.
func TestBadPendingEntryDropsOnlyItsJob(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(4, 1))
	e.clock.add(time.Second)
	b := e.submit(spec(8, 1)) // waits behind a: n1 has 8 GPUs
	e.s.schedule = func(snap *model.Snapshot, q *sched.Queue, now model.Time, depth int) (model.Plan, []*model.Job) {
		p, considered := sched.Quick(snap, q, now, depth)
		for i := range p.Pending {
			if p.Pending[i].Job == b {
				p.Pending[i].EstStart = now - 60 // in the past: Verify refuses it
			}
		}
		return p, considered
	}
	e.pass()
	if rs := e.job(a).Replicas; len(rs) != 1 {
		t.Fatalf("job a's replicas %+v; want it started, though job b's reason was refused", rs)
	}
	if j := e.job(b); j.Reason == nil || j.Reason.EstStart != nil {
		t.Errorf("job b's reason %+v; want one, without the refused estimate", j.Reason)
	}
}
