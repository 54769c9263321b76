package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// What the server knows of a node back from silence outlives a restart:
// while its agent still reports a replica it lost running, nothing is
// placed there, whether the server restarted in between or not; the
// node's record says so (api.Node.Unreachable).
func TestUnreachableNodeSurvivesRestart(t *testing.T) {
	for _, restart := range []bool{false, true} {
		e := devEnv(t)
		if code := e.register("n2", "local", 8); code != 200 {
			t.Fatal(code)
		}
		b := e.submit(spec(8, 1))
		e.pass()
		nb := e.job(b).Replicas[0].Node
		other := map[string]string{"n1": "n2", "n2": "n1"}[nb]
		e.report(nb, running(b, 0, 1))
		e.clock.add(e.s.cfg.HeartbeatTimeout + time.Second)
		e.report(other)
		e.pass()                       // nb silent: b lost
		e.report(nb, running(b, 0, 1)) // back, its agent still runs b
		x := e.submit(spec(8, 2))      // needs both nodes
		if restart {
			e = e.restart(true)
		}
		var n api.Node
		if code := e.do("GET", "/v1/nodes/"+nb, nil, &n); code != 200 || !n.Unreachable {
			t.Errorf("restart %v: node %s %d %+v; want it unreachable", restart, nb, code, n)
		}
		e.report(nb, running(b, 0, 1))
		e.report(other)
		e.pass()
		if j := e.job(x); j.State == api.StateRunning {
			t.Errorf("restart %v: x started on %s while its agent reports lost b still running there", restart, nb)
		}
		e.report(nb) // b has stopped
		e.pass()
		if j := e.job(x); j.State != api.StateRunning {
			t.Errorf("restart %v: x %s %q once %s runs nothing; want it started", restart, j.State, j.Message, nb)
		}
	}
}

// A start held for a lowering on a node back from silence, whose agent
// still reports the lowered replica (lost meanwhile) at the raised
// limit, stays held across a restart.
func TestHeldStartOnUnreachableNodeSurvivesRestart(t *testing.T) {
	e, b, c := lentAcrossNodes(t)
	e.clock.add(e.s.cfg.HeartbeatTimeout + time.Second)
	e.report("n1")
	e.pass()                                     // n2 silent: b lost, n2 may still run it
	e.report("n2", withCap(running(b, 0, 1), 0)) // back, still running b uncapped
	if e.listed("n1", c) {
		t.Fatalf("n1 lists c while n2 reports b running at the raised limit")
	}
	e = e.restart(true)
	if e.listed("n1", c) {
		t.Fatalf("after a restart n1 lists c while n2's agent last reported b running at the raised limit")
	}
	e.report("n2", withCap(running(b, 0, 1), 0))
	if e.listed("n1", c) {
		t.Fatalf("after a restart n1 lists c while n2's agent still reports b running uncapped")
	}
	e.report("n2")
	if !e.listed("n1", c) {
		t.Errorf("n1's tasks %+v once n2 runs nothing; want c's", e.tasks("n1"))
	}
}

// A deployment's GPU time is counted once and from each replica's own
// assignment, restart or not: a replica that ended while the deployment
// ran on was charged then (api.Replica.Released), and one added when
// room appeared counts from its assignment (api.Replica.AssignedAt), not
// from the deployment's start.
func TestDeploymentUsageAcrossRestart(t *testing.T) {
	for _, restart := range []bool{false, true} {
		e := devEnv(t)
		var d api.Job
		if code := e.do("POST", "/v1/deployments", spec(8, 2, "min_replicas", 1), &d); code != http.StatusCreated {
			t.Fatalf("submit deployment: %d", code)
		}
		e.pass()
		e.report("n1", running(d.ID, 0, 1))
		e.clock.add(time.Hour)
		if code := e.register("n2", "local", 8); code != 200 {
			t.Fatal(code)
		}
		e.report("n1", running(d.ID, 0, 1))
		e.pass() // scales up on n2
		if rs := e.job(d.ID).Replicas; len(rs) != 2 || rs[1].Node != "n2" {
			t.Fatalf("restart %v: replicas %+v; want a second on n2", restart, rs)
		}
		e.report("n2", running(d.ID, 1, 1))
		e.clock.add(time.Hour)
		e.report("n1", exited(d.ID, 0, 1, 0)) // released: 2 h × 8 GPUs
		if r := e.job(d.ID).Replicas[0]; !r.Released {
			t.Errorf("restart %v: replica 0 %+v after its end; want it released", restart, r)
		}
		if restart {
			e = e.restart(true)
		}
		e.clock.add(time.Hour)
		if got, want := e.job(d.ID).Usage.GPUSeconds, 8*(2+2)*3600.0; got != want {
			t.Errorf("restart %v: GPU-seconds %v while replica 1 runs, want %v", restart, got, want)
		}
		if code := e.do("POST", "/v1/jobs/"+d.ID+"/cancel", nil, nil); code != http.StatusAccepted {
			t.Fatalf("cancel: %d", code)
		}
		e.report("n2", exited(d.ID, 1, 1, 0))
		if j, want := e.job(d.ID), 8*(2+2)*3600.0; j.State != api.StateCancelled || j.Usage.GPUSeconds != want {
			t.Errorf("restart %v: %s with %v GPU-seconds, want cancelled with %v (replica 0: 2 h, replica 1: 2 h)",
				restart, j.State, j.Usage.GPUSeconds, want)
		}
	}
}

// Jobs submitted in the same second start in the order of their
// submission, not of their IDs, before a restart and after it (the order
// within the second is read back from the stored submit time).
func TestFIFOWithinASecondAcrossRestart(t *testing.T) {
	for _, restart := range []bool{false, true} {
		e := devEnv(t)
		first := e.submit(spec(8, 1, "id", "zz-first"))
		e.clock.add(20 * time.Millisecond)
		second := e.submit(spec(8, 1, "id", "aa-second"))
		if restart {
			e = e.restart(true)
		}
		e.pass()
		if a, b := e.job(first), e.job(second); a.State != api.StateRunning || b.State != api.StatePending {
			t.Errorf("restart %v: %s %s, %s %s; want the first submitted running", restart, first, a.State, second, b.State)
		}
	}
}

// twoLowJobs is devEnv with n2 too, each node running a low-priority
// 8-GPU job with a checkpoint grace of two minutes, and a high-priority
// job that preempted one of them: still in its grace. It returns the
// env, the low jobs and the high one.
func twoLowJobs(t *testing.T, mod func(*model.Facility)) (e *env, v1, v2, boss string) {
	t.Helper()
	fac := DevFacility("local", "FR")
	if mod != nil {
		mod(fac)
	}
	e = newEnv(t, fac, true)
	for _, n := range []string{"n1", "n2"} {
		if code := e.register(n, "local", 8); code != 200 {
			t.Fatalf("register %s: %d", n, code)
		}
	}
	v1 = e.submit(spec(8, 1, "priority_class", "low", "checkpoint_grace", "120s"))
	v2 = e.submit(spec(8, 1, "priority_class", "low", "checkpoint_grace", "120s"))
	e.pass()
	e.report(e.job(v1).Replicas[0].Node, running(v1, 0, 1))
	e.report(e.job(v2).Replicas[0].Node, running(v2, 0, 1))
	boss = e.submit(spec(8, 1, "priority_class", "high"))
	e.pass()
	if p := e.job(v1).Preemptions + e.job(v2).Preemptions; p != 1 {
		t.Fatalf("%d preemptions for one 8-GPU job; want 1", p)
	}
	return e, v1, v2, boss
}

// reportRunning has each low job's node report it running.
func (e *env) reportRunning(jobs ...string) {
	e.t.Helper()
	for _, j := range jobs {
		e.report(e.job(j).Replicas[0].Node, running(j, 0, 1))
	}
}

// What a preemption in progress means outlives a restart: the job it
// makes room for waits for it and needs no second victim, and the
// preemption counts against the rate limit.
func TestPreemptionInProgressSurvivesRestart(t *testing.T) {
	t.Run("no second victim", func(t *testing.T) {
		e, v1, v2, boss := twoLowJobs(t, nil)
		e = e.restart(true)
		e.reportRunning(v1, v2)
		e.pass()
		if p1, p2 := e.job(v1).Preemptions, e.job(v2).Preemptions; p1+p2 != 1 {
			t.Errorf("after a restart: victims preempted %d and %d times for one 8-GPU job; want one victim", p1, p2)
		}
		if j := e.job(boss); !strings.Contains(j.Message, "waiting for 1 preempted job(s)") {
			t.Errorf("after a restart %s says %q; want it waiting for its victim", boss, j.Message)
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		e, v1, v2, _ := twoLowJobs(t, func(f *model.Facility) {
			f.Policy.PreemptionRateLimit, f.Policy.PreemptionWindow = 1, model.Hour
		})
		e = e.restart(true)
		e.clock.add(time.Second)
		e.submit(spec(8, 1, "priority_class", "high"))
		e.reportRunning(v1, v2)
		e.pass()
		if p1, p2 := e.job(v1).Preemptions, e.job(v2).Preemptions; p1+p2 != 1 {
			t.Errorf("after a restart: %d and %d preemptions within the hour; want the limit of 1 kept", p1, p2)
		}
	})
}

// A checkpoint acknowledged before a restart still ends the grace: the
// victim's task goes out with no grace left, not a new full one.
func TestCheckpointAckSurvivesRestart(t *testing.T) {
	e, v1, v2, _ := twoLowJobs(t, nil)
	victim := v1
	if e.job(v2).State == api.StatePreempting {
		victim = v2
	}
	if code := e.do("POST", "/v1/jobs/"+victim+"/checkpoint", api.CheckpointAck{Message: "saved"}, nil); code != http.StatusAccepted {
		t.Fatalf("checkpoint: %d", code)
	}
	e = e.restart(true)
	node := e.job(victim).Replicas[0].Node
	i := slices.IndexFunc(e.tasks(node), func(tk api.Task) bool { return tk.Job == victim })
	if i < 0 || !e.tasks(node)[i].Stop || e.tasks(node)[i].GraceSeconds != 0 {
		t.Errorf("after a restart %s's tasks %+v; want the victim's stopped with no grace", node, e.tasks(node))
	}
}

// A victim cancelled while it is being preempted still frees its GPUs
// for the job it was preempted for: they are claimed for it, as they are
// when the victim ends by the preemption.
func TestVictimCancelledDuringPreemptionLeavesItsClaim(t *testing.T) {
	e, v1, v2, boss := twoLowJobs(t, nil)
	victim := v1
	if e.job(v2).State == api.StatePreempting {
		victim = v2
	}
	if code := e.do("POST", "/v1/jobs/"+victim+"/cancel", nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel: %d", code)
	}
	node := e.job(victim).Replicas[0].Node
	e.report(node, exited(victim, 0, 1, 143))
	if j := e.job(victim); j.State != api.StateCancelled {
		t.Fatalf("victim %s, want cancelled", j.State)
	}
	e.s.mu.Lock()
	by := e.s.nodes[node].gpus[0].ClaimedBy
	e.s.mu.Unlock()
	if by != boss {
		t.Errorf("%s's GPU 0 claimed by %q once the cancelled victim ended; want %s, which preempted it", node, by, boss)
	}
}
