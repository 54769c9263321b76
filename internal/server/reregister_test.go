package server

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A node whose agent registers again with fewer GPUs (one fell off the
// bus, a board was pulled) no longer runs the replicas placed on the GPUs
// it lost: they are lost, their jobs handled as for any lost replica, and
// the node never counts more GPUs in use than it has. Replicas on the
// GPUs it kept run on.
func TestReregisterWithFewerGPUsLosesReplicasOnGoneGPUs(t *testing.T) {
	e := devEnv(t)
	low := e.submit(spec(4, 1))
	e.pass()
	high := e.submit(spec(4, 1))
	e.pass()
	on := map[string][]int{low: e.job(low).Replicas[0].GPUs, high: e.job(high).Replicas[0].GPUs}
	if on[low][0] >= 4 {
		low, high = high, low
	}
	e.report("n1", running(low, 0, 1), running(high, 0, 1))

	if code := e.register("n1", "local", 4, running(low, 0, 1), running(high, 0, 1)); code != 200 {
		t.Fatalf("register with 4 GPUs: %d", code)
	}
	if j := e.job(low); j.Replicas[0].State != api.ReplicaRunning {
		t.Errorf("job on GPUs %v, which n1 still has: replica %s, want running", j.Replicas[0].GPUs, j.Replicas[0].State)
	}
	j := e.job(high)
	if r := j.Replicas[0]; r.State != api.ReplicaLost || !strings.Contains(r.Error, "no longer") {
		t.Errorf("job on GPUs %v, which n1 lost: replica %s (%q), want lost saying its GPUs are no longer there", r.GPUs, r.State, r.Error)
	}
	var n api.Node
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != 200 || n.GPUs != 4 || n.GPUsUsed != 4 {
		t.Errorf("n1: %d, %d/%d GPUs in use, want 4/4", code, n.GPUsUsed, n.GPUs)
	}
	if evs := e.nodeEvents("n1", "8×H100 before"); len(evs) != 1 {
		t.Errorf("registration events %+v, want one saying n1 had 8×H100 before", evs)
	}
}

// A node whose agent registers again with another GPU count keeps the
// claims of a preemption on the GPUs it still has: the job the victim
// was stopped for still holds them until it starts (the core gives
// claimed GPUs to no other job). Registration used to make the node's
// GPU states afresh, dropping the claims.
func TestReregisterWithOtherGPUCountKeepsClaims(t *testing.T) {
	for _, gpus := range []int{16, 4} {
		e := devEnv(t)
		victim := e.submit(spec(8, 1, "priority_class", "low"))
		e.pass()
		e.report("n1", running(victim, 0, 1))
		boss := e.submit(spec(4, 1, "priority_class", "high"))
		e.pass()
		if v := e.job(victim); v.State != api.StatePreempting {
			t.Fatalf("victim %s; want preempting for %s: %s", v.State, boss, e.job(boss).Message)
		}
		e.report("n1", exited(victim, 0, 1, 143))
		e.s.mu.Lock()
		var claimed []int
		for g, st := range e.s.nodes["n1"].gpus {
			if st.ClaimedBy == boss {
				claimed = append(claimed, g)
			}
		}
		e.s.mu.Unlock()
		if len(claimed) == 0 {
			t.Fatalf("no GPU of n1 claimed for %s once its victim ended", boss)
		}
		if code := e.register("n1", "local", gpus); code != 200 {
			t.Fatalf("register with %d GPUs: %d", gpus, code)
		}
		e.s.mu.Lock()
		for _, g := range claimed {
			if g < gpus && e.s.nodes["n1"].gpus[g].ClaimedBy != boss {
				t.Errorf("registered again with %d GPUs: GPU %d claimed by %q; want %s", gpus, g, e.s.nodes["n1"].gpus[g].ClaimedBy, boss)
			}
		}
		if n := len(e.s.nodes["n1"].gpus); n != gpus {
			t.Errorf("n1 holds %d GPU states; want %d", n, gpus)
		}
		e.s.mu.Unlock()
		e.pass()
		if b := e.job(boss); b.State != api.StateRunning {
			t.Errorf("registered again with %d GPUs: %s is %s: %s", gpus, boss, b.State, b.Message)
		}
	}
}
