package sched_test

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestGPUsDownNamedNotPlaced: GPUs a node's agent reports down take no
// replica, not even of the tenant that left them dirty, and the reasons
// of the jobs that wait count them as down, never as dirty awaiting a
// scrub. Once up they take work again.
func TestGPUsDownNamedNotPlaced(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100
nodes n1 site=par
tenant acme
policy all=off
dirty n1 gpus=4 tenant=acme
down n1 gpus=1,4,6
job j1 tenant=acme gpus=1
job j2 tenant=acme gpus=1
job j3 tenant=acme gpus=1
job j4 tenant=acme gpus=1
job j5 tenant=acme gpus=1
job j6 tenant=acme gpus=1
job j7 tenant=acme gpus=1
schedule
`)
	p := steps[0].plan
	if steps[0].verr != nil {
		t.Fatalf("plan fails Verify: %v\n%s", steps[0].verr, steps[0].text)
	}
	if len(p.Starts) != 5 {
		t.Errorf("%d jobs started, want 5 (one per GPU up):\n%s", len(p.Starts), steps[0].text)
	}
	for _, s := range p.Starts {
		for _, r := range s.Replicas {
			for _, g := range r.GPUs {
				if g == 1 || g == 4 || g == 6 {
					t.Errorf("job %s placed on GPU %d, which is down:\n%s", s.Job, g, steps[0].text)
				}
			}
		}
	}
	if len(p.Pending) != 2 || p.Pending[0].Code != model.ReasonCapacity {
		t.Fatalf("want 2 jobs pending, the first for capacity:\n%s", steps[0].text)
	}
	for _, w := range p.Pending[:1] { // the other waits behind it
		if !strings.Contains(w.Message, "3 more are down") || strings.Contains(w.Message, "scrub") {
			t.Errorf("job %s: reason %q, want it to count 3 GPUs down and say nothing of a scrub", w.Job, w.Message)
		}
	}
}

// TestClaimedGPUsDownNotAwaitedAsScrub: when the GPUs a preemption freed
// for a job go down, the job does not wait for them to be scrubbed (a
// scrub that does not come while they are lost): it looks for room
// again, here by reclaiming the other borrower's node, and the others'
// reasons count the GPUs as down, not as claimed or dirty.
func TestClaimedGPUsDownNotAwaitedAsScrub(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100
nodes n[1-2] site=par
tenant acme
tenant beta
tenant gamma
policy quotas=off
class high value=100 preemptible=no
class low value=10 preemptible=yes
running b1 tenant=beta class=low on=n1:0-7 started=-3h checkpoint=-10m grace=10m
running b2 tenant=beta class=low on=n2:0-7 started=-2h checkpoint=-1h grace=10m
job a1 tenant=acme class=high gpus=8
job g1 tenant=gamma class=low gpus=8
schedule
apply
advance 10m
evict dirty=yes
down n1 gpus=0-7
schedule
`)
	s := steps[1]
	if s.verr != nil {
		t.Fatalf("plan fails Verify: %v\n%s", s.verr, s.text)
	}
	a1 := pendingOf(s.plan, "a1")
	if a1 == nil || strings.Contains(a1.Message, "to be scrubbed") {
		t.Errorf("a1 waits for a scrub of GPUs that are down:\n%s", s.text)
	}
	if len(s.plan.Preemptions) != 1 || s.plan.Preemptions[0].Victim != "b2" {
		t.Errorf("a1 does not reclaim n2 from b2 while n1's GPUs are down:\n%s", s.text)
	}
	for _, id := range []string{"g1", "b1"} {
		w := pendingOf(s.plan, id)
		if w == nil || !strings.Contains(w.Message, "8 more are down") || strings.Contains(w.Message, "claimed") {
			t.Errorf("%s's reason does not count n1's 8 GPUs as down:\n%s", id, s.text)
		}
	}
}

// TestGPUsDownHeldFreeNoRoom: GPUs down that a running job holds give no
// room when it leaves: a preemption does not evict it for them (b1 holds
// four GPUs down; evicting it would free only four of the eight a1
// needs), and no estimate counts on them.
func TestGPUsDownHeldFreeNoRoom(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100
nodes n[1-2] site=par
tenant acme
tenant beta
policy quotas=off
class high value=100 preemptible=no
class low value=10 preemptible=yes
running b1 tenant=beta class=low on=n1:0-7 started=-3h checkpoint=-1m grace=10m
running b2 tenant=beta class=low on=n2:0-7 started=-2h checkpoint=-1h grace=10m
down n1 gpus=0-3
job a1 tenant=acme class=high gpus=8
schedule
`)
	s := steps[0]
	if s.verr != nil {
		t.Fatalf("plan fails Verify: %v\n%s", s.verr, s.text)
	}
	if len(s.plan.Preemptions) != 1 || s.plan.Preemptions[0].Victim != "b2" {
		t.Errorf("a1 preempts other than b2 alone (b1, the cheaper, holds four GPUs down):\n%s", s.text)
	}

	_, steps = reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100
nodes n1 site=par
tenant acme
policy all=off backfill=on
running b1 tenant=acme on=n1:0-7 started=-1h limit=2h
down n1 gpus=0-3
job a1 tenant=acme gpus=8 limit=1h
schedule
`)
	s = steps[0]
	a1 := pendingOf(s.plan, "a1")
	if a1 == nil || a1.EstStart != 0 {
		t.Errorf("a1 has an estimated start on GPUs down once b1 ends:\n%s", s.text)
	}
}

// TestGPUsDownNoRoomForDeferral: a flexible job's hours are scored with
// the GPUs free by each: GPUs down are not, as a node down's are not. n2
// is all down; r1 holds n1 until 03:00: f1 cannot start before 03:00,
// and is not deferred to 02:00, the cheapest hour, for room that is down.
func TestGPUsDownNoRoomForDeferral(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100 zone=FR
nodes n[1-2] site=par
tenant acme
policy all=off deferral=on carbon=0
grid FR from=2026-01-01T00:00 prices=100,100,20,20,60,100,100,100,100,100,100,100 carbons=50,50,50,50,50,50,50,50,50,50,50,50
running r1 tenant=acme on=n1:0-7 started=-1h limit=4h
down n2 gpus=0-7
job f1 tenant=acme gpus=8 limit=2h deadline=+10h
schedule
`)
	s := steps[0]
	if s.verr != nil {
		t.Fatalf("plan fails Verify: %v\n%s", s.verr, s.text)
	}
	if len(s.plan.Deferrals) != 1 || !strings.Contains(s.plan.Deferrals[0].Reason, "starting 2026-01-01T03:00:00Z") {
		t.Errorf("f1 is not deferred to 03:00, the first hour with GPUs up free for it:\n%s", s.text)
	}
}
