package sched_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// TestQuickFullDepthEqualsSchedule: without a depth limit, Quick over a
// queue of the snapshot's pending jobs gives exactly Schedule's plan.
func TestQuickFullDepthEqualsSchedule(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		snap, now := genSnapshot(seed)
		want := sched.Schedule(snap, now)
		q := sched.NewQueue(snap.Facility, snap.Pending)
		noPending := *snap
		noPending.Pending = nil
		got, considered := sched.Quick(&noPending, q, now, 0)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("seed %d: Quick(depth 0) differs from Schedule (-schedule +quick):\n%s", seed, d)
		}
		if len(considered) != len(snap.Pending) {
			t.Fatalf("seed %d: considered %d of %d jobs", seed, len(considered), len(snap.Pending))
		}
	}
}

// TestQuickDepth: a shallow pass considers at most depth jobs, covers
// exactly the jobs it returns, and its plan passes Verify against a
// snapshot of those jobs.
func TestQuickDepth(t *testing.T) {
	partial := 0
	for seed := uint64(0); seed < 200; seed++ {
		snap, now := genSnapshot(seed)
		q := sched.NewQueue(snap.Facility, snap.Pending)
		depth := 1 + int(seed%4)
		p, considered := sched.Quick(snap, q, now, depth)
		if len(considered) > depth {
			t.Fatalf("seed %d: considered %d jobs with depth %d", seed, len(considered), depth)
		}
		if p.Partial != (len(snap.Pending) > len(considered)) && len(snap.Pending) > depth {
			t.Fatalf("seed %d: partial=%v with %d considered of %d", seed, p.Partial, len(considered), len(snap.Pending))
		}
		if p.Partial {
			partial++
		}
		covered := *snap
		covered.Pending = considered
		if err := plan.Verify(&covered, &p); err != nil {
			t.Fatalf("seed %d: quick plan fails Verify: %v", seed, err)
		}
	}
	if partial == 0 {
		t.Fatal("no partial pass among the seeds; the test does not exercise depth")
	}
}

// TestQueueAddRemove: a queue built by Add in any order, with some jobs
// removed, walks like one built in bulk from the remaining jobs.
func TestQueueAddRemove(t *testing.T) {
	for seed := uint64(0); seed < 100; seed++ {
		snap, now := genSnapshot(seed)
		rng := rand.New(rand.NewPCG(seed, 3))
		jobs := append([]*model.Job(nil), snap.Pending...)
		rng.Shuffle(len(jobs), func(a, b int) { jobs[a], jobs[b] = jobs[b], jobs[a] })
		q := sched.NewQueue(snap.Facility, nil)
		for _, j := range jobs {
			if !q.Add(j) {
				t.Fatalf("seed %d: Add(%s) refused", seed, j.ID)
			}
		}
		if len(jobs) > 0 && q.Add(jobs[0]) {
			t.Fatalf("seed %d: duplicate Add accepted", seed)
		}
		var kept []*model.Job
		for _, j := range jobs {
			if rng.IntN(3) == 0 {
				if !q.Remove(j.ID) {
					t.Fatalf("seed %d: Remove(%s) failed", seed, j.ID)
				}
				continue
			}
			kept = append(kept, j)
		}
		if q.Len() != len(kept) {
			t.Fatalf("seed %d: Len %d, want %d", seed, q.Len(), len(kept))
		}
		bare := *snap
		bare.Pending = kept
		want := sched.Schedule(&bare, now)
		bare.Pending = nil
		got, _ := sched.Quick(&bare, q, now, 0)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("seed %d: incrementally built queue walks differently (-bulk +incremental):\n%s", seed, d)
		}
	}
}

// TestQuickIsAPrefixOfSchedule: a quick pass decides its jobs exactly as
// the full pass decides the same jobs — the same starts (placements and
// caps) and the same preemptions — because it walks the same order from
// the same state; only estimates beyond the reservation are left out.
func TestQuickIsAPrefixOfSchedule(t *testing.T) {
	compared := 0
	for seed := uint64(0); seed < 200; seed++ {
		snap, now := genSnapshot(seed)
		full := sched.Schedule(snap, now)
		q := sched.NewQueue(snap.Facility, snap.Pending)
		for _, depth := range []int{1, 3, 8} {
			quick, considered := sched.Quick(snap, q, now, depth)
			in := map[string]bool{}
			for _, j := range considered {
				in[j.ID] = true
			}
			var want []model.Start
			for _, s := range full.Starts {
				if in[s.Job] {
					want = append(want, s)
				}
			}
			if d := cmp.Diff(want, quick.Starts); d != "" {
				t.Fatalf("seed %d depth %d: quick starts differ from the full pass's for the same jobs (-full +quick):\n%s", seed, depth, d)
			}
			var wantP []model.Preemption
			for _, pr := range full.Preemptions {
				if in[pr.Beneficiary] {
					wantP = append(wantP, pr)
				}
			}
			if d := cmp.Diff(wantP, quick.Preemptions); d != "" {
				t.Fatalf("seed %d depth %d: quick preemptions differ (-full +quick):\n%s", seed, depth, d)
			}
			compared += len(want)
		}
	}
	if compared == 0 {
		t.Fatal("no starts compared; the test exercises nothing")
	}
}

// TestQuickKeepsItsViewAcrossPasses drives one Queue through a sequence of
// snapshots as the twin and the live server do — starts applied, jobs
// ending, victims evicted, arrivals, nodes changing condition — and checks
// at every step that Quick, which keeps its cluster view between passes
// and updates it by difference, starts its estimates' searches from
// where the last pass found room (hint.go) and keeps the reservation's
// estimate, gangs' placements and where blocked jobs would fit but for
// sovereignty while nothing they read changes (estmemo.go, findmemo.go,
// elsewhere.go; each kept answer made again and compared here), plans
// exactly as a fresh Schedule.
func TestQuickKeepsItsViewAcrossPasses(t *testing.T) {
	sched.SetCheckMemo(true)
	defer sched.SetCheckMemo(false)
	steps, rebuilds, diffs, parkings, skips, hinted, right, memo, finds, elsewhere := 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
	for seed := uint64(0); seed < 120; seed++ {
		snap, now := genSnapshot(seed)
		rng := rand.New(rand.NewPCG(seed, 99))
		cur := *snap
		cur.Running = append([]model.Allocation(nil), snap.Running...)
		queued := append([]*model.Job(nil), snap.Pending[:len(snap.Pending)/2]...)
		later := snap.Pending[len(snap.Pending)/2:]
		q := sched.NewQueue(snap.Facility, queued)
		parked := map[string]bool{} // explained as hopeless by an earlier Quick
		for step := 0; step < 12; step++ {
			steps++
			got, n := quickMatchesSchedule(t, &cur, q, queued, now, parked, fmt.Sprintf("seed %d step %d", seed, step))
			parkings += n
			if q.Parked() != len(parked) {
				t.Fatalf("seed %d step %d: queue parks %d jobs, the passes explained %d as hopeless", seed, step, q.Parked(), len(parked))
			}
			// apply the plan
			running := make([]model.Allocation, 0, len(cur.Running)+len(got.Starts))
			victims := map[string]bool{}
			for _, pr := range got.Preemptions {
				victims[pr.Victim] = true
			}
			for _, a := range cur.Running {
				switch {
				case a.Terminating || rng.IntN(4) == 0: // evicted, or ended
				case victims[a.Job.ID]:
					a.Terminating = true
					running = append(running, a)
				default:
					running = append(running, a)
				}
			}
			started := map[string]bool{}
			for _, s := range got.Starts {
				started[s.Job] = true
				q.Remove(s.Job)
				for _, j := range queued {
					if j.ID == s.Job {
						running = append(running, model.Allocation{Job: j, Started: now, Replicas: s.Replicas})
					}
				}
			}
			kept := queued[:0]
			for _, j := range queued {
				if !started[j.ID] {
					kept = append(kept, j)
				}
			}
			queued = kept
			cur.Running = running
			if len(later) > 0 && rng.IntN(2) == 0 {
				queued = append(queued, later[0])
				q.Add(later[0])
				later = later[1:]
			}
			if len(cur.Nodes) > 0 && rng.IntN(5) == 0 {
				nodes := append([]model.NodeState(nil), cur.Nodes...)
				i := rng.IntN(len(nodes))
				nodes[i].Condition = []model.NodeCondition{model.NodeUp, model.NodeDraining, model.NodeDown, model.NodeUnreachable}[rng.IntN(4)]
				cur.Nodes = nodes
			}
			if fac := cur.Facility; len(fac.Nodes) > 0 && rng.IntN(3) > 0 {
				// a GPU's state changes: dirty, claimed for a queued (or
				// gone) job, down, or clean again; the node's state may come
				// or go from the list
				nd := &fac.Nodes[rng.IntN(len(fac.Nodes))]
				nodes := make([]model.NodeState, 0, len(cur.Nodes)+1)
				at := -1
				for _, st := range cur.Nodes {
					if st.Node == nd.Name {
						at = len(nodes)
					}
					st.GPUs = append([]model.GPUState(nil), st.GPUs...)
					nodes = append(nodes, st)
				}
				if at < 0 {
					at = len(nodes)
					nodes = append(nodes, model.NodeState{Node: nd.Name})
				}
				st := &nodes[at]
				if g := rng.IntN(max(1, nd.GPUs)); nd.GPUs > 0 {
					for len(st.GPUs) <= g {
						st.GPUs = append(st.GPUs, model.GPUState{})
					}
					var gs model.GPUState
					switch rng.IntN(4) {
					case 0:
						gs = model.GPUState{Dirty: true}
						if rng.IntN(2) == 0 {
							gs.LastTenant = fac.Tenants[rng.IntN(len(fac.Tenants))].Name
						}
					case 1:
						if len(queued) > 0 {
							gs.ClaimedBy = queued[rng.IntN(len(queued))].ID
						}
						gs.Down = g%3 == 2 // no draw: the stream stays as it was
					case 2:
						gs.ClaimedBy = "gone"
						gs.Dirty = rng.IntN(2) == 0
					}
					st.GPUs[g] = gs
				}
				if rng.IntN(3) == 0 && st.Condition == "" { // a plain state leaves the list
					nodes = append(nodes[:at], nodes[at+1:]...)
				}
				cur.Nodes = nodes
			}
			now = now.Add(model.Duration(rng.IntN(3600)))
		}
		r, d := sched.QueueSyncs(q)
		rebuilds, diffs, skips = rebuilds+r, diffs+d, skips+sched.QueueClaimSkips(q)
		u, h := sched.QueueHints(q)
		hinted, right = hinted+u, right+h
		memo += sched.QueueMemoHits(q)
		finds += sched.QueueFindHits(q)
		elsewhere += sched.QueueElsewhereHits(q)
	}
	t.Logf("%d passes compared: %d views rebuilt, %d updated by difference, %d jobs parked, %d claimed nodes left as they were, %d estimates from a hint (%d of them right), %d estimates, %d gang placements and %d sovereignty answers from the memo",
		steps, rebuilds, diffs, parkings, skips, hinted, right, memo, finds, elsewhere)
	if memo == 0 || finds == 0 || elsewhere == 0 {
		t.Fatalf("%d estimates, %d gang placements and %d sovereignty answers came from the memo; the test exercises all three",
			memo, finds, elsewhere)
	}
	if right == 0 || hinted-right == 0 {
		t.Fatalf("estimates from a hint: %d right, %d stale; the test exercises both or neither", right, hinted-right)
	}
	if skips == 0 {
		t.Fatal("no sync left a claimed node as it was; the test does not exercise claimsSeen")
	}
	if diffs < steps/3 {
		t.Fatalf("only %d of %d passes updated the view by difference; the test does not exercise it", diffs, steps)
	}
	if parkings == 0 {
		t.Fatal("no job was parked; the test does not exercise parking")
	}
}

// quickMatchesSchedule runs one Quick pass (depth 0) over q on cur and
// fails the test unless it equals a fresh Schedule of cur with queued
// pending, less the jobs earlier passes parked. It adds the jobs this
// pass explains as hopeless to parked and returns the plan and how many
// it added.
func quickMatchesSchedule(t *testing.T, cur *model.Snapshot, q *sched.Queue, queued []*model.Job, now model.Time, parked map[string]bool, where string) (model.Plan, int) {
	t.Helper()
	full := *cur
	full.Pending = append([]*model.Job(nil), queued...)
	want := sched.Schedule(&full, now)
	want.Pending = slices.DeleteFunc(want.Pending, func(pe model.Pending) bool { return parked[pe.Job] })
	cur.Pending = nil
	got, _ := sched.Quick(cur, q, now, 0)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("%s: Quick differs from Schedule, less the jobs it parked (-schedule +quick):\n%s", where, d)
	}
	n := 0
	for _, pe := range got.Pending {
		if strings.Contains(pe.Message, "even with nothing running") && !parked[pe.Job] {
			parked[pe.Job] = true
			n++
		}
	}
	return got, n
}
