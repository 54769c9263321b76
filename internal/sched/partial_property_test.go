package sched_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// Random clusters of low-priority deployments scaled above their minimum
// (some with replicas already leaving for an earlier partial preemption)
// and gangs, with high-priority jobs waiting, across two tenants of one
// cohort: every plan passes plan.Verify (a partial preemption keeps the
// deployment at its minimum or above, names replicas it runs, frees what
// the victim rules allow), is the same with Running shuffled, and some
// preemptions are partial.
func TestPartialPreemptionRandom(t *testing.T) {
	partial, whole := 0, 0
	for seed := uint64(1); seed <= 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		f := deployBase(2 + r.IntN(3))
		f.Policy.Quotas = r.IntN(2) == 0
		snap := &model.Snapshot{Facility: f}
		used := map[string][]bool{}
		take := func(gpus int) (model.Placement, bool) {
			n := f.Nodes[r.IntN(len(f.Nodes))].Name
			if used[n] == nil {
				used[n] = make([]bool, 8)
			}
			var gs []int
			for g := 0; g < 8 && len(gs) < gpus; g++ {
				if !used[n][g] {
					gs = append(gs, g)
				}
			}
			if len(gs) < gpus {
				return model.Placement{}, false
			}
			for _, g := range gs {
				used[n][g] = true
			}
			return model.Placement{Node: n, GPUs: gs}, true
		}
		tenant := func() string { return []string{"a", "b"}[r.IntN(2)] }
		for i := range 2 + r.IntN(4) {
			replicas, gpus := 2+r.IntN(5), 1+r.IntN(4)
			least := 1 + r.IntN(replicas)
			j := makeJob(fmt.Sprintf("d%d", i), tenant()).Deployment(replicas, least, gpus).Class("low", true).Grace(2 * model.Minute).Obj()
			var pls []model.Placement
			for range least + r.IntN(replicas-least+1) {
				if pl, ok := take(gpus); ok {
					pls = append(pls, pl)
				}
			}
			if len(pls) == 0 {
				continue
			}
			a := allocation(j, t0-model.Time(r.IntN(3*3600)), pls...)
			if keep := model.KeepsReplicas(j); len(pls) > keep && r.IntN(4) == 0 {
				part := allocation(model.LeavingJob(j), a.Started, pls[keep:]...)
				part.Terminating, part.EvictAt, part.PreemptedFor = true, t0+60, ""
				a.Replicas = pls[:keep]
				snap.Running = append(snap.Running, part)
			}
			snap.Running = append(snap.Running, a)
		}
		for i := range r.IntN(3) {
			j := makeJob(fmt.Sprintf("g%d", i), tenant()).Gang(1, 1+r.IntN(8)).Class("low", true).Obj()
			if pl, ok := take(j.GPUsPerReplica); ok {
				snap.Running = append(snap.Running, allocation(j, t0-model.Time(r.IntN(3*3600)), pl))
			}
		}
		for i := range 1 + r.IntN(3) {
			snap.Pending = append(snap.Pending, makeJob(fmt.Sprintf("h%d", i), tenant()).Gang(1, 1+r.IntN(8)).Class("high", false).Obj())
		}
		p := sched.Schedule(snap, t0)
		if err := plan.Verify(snap, &p); err != nil {
			t.Fatalf("seed %d: %v\n%+v", seed, err, p.Preemptions)
		}
		shuffled := cloneSnapshot(snap)
		r.Shuffle(len(shuffled.Running), func(i, j int) { shuffled.Running[i], shuffled.Running[j] = shuffled.Running[j], shuffled.Running[i] })
		p2 := sched.Schedule(shuffled, t0)
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(p2)
		if string(a) != string(b) {
			t.Fatalf("seed %d: shuffling Running changes the plan:\n%s\n%s", seed, a, b)
		}
		for _, pr := range p.Preemptions {
			if pr.Partial() {
				partial++
			} else {
				whole++
			}
		}
	}
	t.Logf("%d partial, %d whole preemptions", partial, whole)
	if partial == 0 || whole == 0 {
		t.Errorf("%d partial, %d whole preemptions: the test needs both", partial, whole)
	}
}
