package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A partial preemption stops only the replicas it takes: a deployment of
// 4 replicas × 2 GPUs (minimum 2) on n1's 8 GPUs gives one up for a
// high-priority 2-GPU job. Only that replica's task says stop; the job
// stays running on the other three, its events say which replica went
// and why, the replica's GPUs are claimed for the job once it has ended,
// and the job starts on them while the deployment serves on.
func TestPartialPreemptionKeepsOtherReplicas(t *testing.T) {
	e := devEnv(t)
	d, boss := partialPreemption(e)
	v := e.job(d.ID)
	if v.State != api.StateRunning || v.Preemptions != 1 {
		t.Fatalf("deployment %s, %d preemptions; want running, 1: %s", v.State, v.Preemptions, e.job(boss).Message)
	}
	taken := -1
	for i, r := range v.Replicas {
		if r.StopBy != nil {
			if taken >= 0 || r.PreemptedFor != boss {
				t.Fatalf("replicas %+v: want one taken for %s", v.Replicas, boss)
			}
			taken = i
		}
	}
	if taken < 0 {
		t.Fatalf("no replica taken: %+v", v.Replicas)
	}
	var pl api.Plan
	e.do("GET", "/v1/plan", nil, &pl)
	if len(pl.Preemptions) != 1 || len(pl.Preemptions[0].Replicas) != 1 || pl.Preemptions[0].Replicas[0].Index != taken {
		t.Errorf("plan's preemptions %+v: want replica %d of %s", pl.Preemptions, taken, d.ID)
	}
	stops := 0
	for _, tk := range e.tasks("n1") {
		if tk.Stop != (tk.Replica == taken) {
			t.Errorf("task of replica %d: stop %v", tk.Replica, tk.Stop)
		}
		if tk.Stop {
			stops++
		}
	}
	if stops != 1 {
		t.Errorf("%d tasks stop, want 1", stops)
	}
	var evs api.EventList
	e.do("GET", "/v1/jobs/"+d.ID+"/events", nil, &evs)
	said := false
	for _, ev := range evs.Events {
		said = said || ev.Type == api.EventPreempt && strings.Contains(ev.Message, "preempted for "+boss) && strings.Contains(ev.Message, "replica(s) ")
	}
	if !said {
		t.Errorf("no event names the replica preempted: %+v", evs.Events)
	}
	e.report("n1", api.TaskStatus{Job: d.ID, Replica: taken, Attempt: 1, State: api.ReplicaExited, Signal: "killed"},
		running(d.ID, (taken+1)%4, 1))
	if v := e.job(d.ID); v.State != api.StateRunning || !v.Replicas[taken].Released {
		t.Fatalf("after the replica's end: %s, replica %+v", v.State, v.Replicas[taken])
	}
	claimed := 0
	for _, st := range e.s.nodes["n1"].gpus {
		if st.ClaimedBy == boss {
			claimed++
		}
	}
	if claimed != 2 {
		t.Errorf("%d GPUs claimed for %s, want the replica's 2", claimed, boss)
	}
	e.pass()
	if b := e.job(boss); b.State != api.StateRunning {
		t.Fatalf("beneficiary %s: %s", b.State, b.Message)
	}
	live := 0
	for _, tk := range e.tasks("n1") {
		if tk.Job == d.ID {
			live++
			if tk.Stop {
				t.Errorf("replica %d told to stop", tk.Replica)
			}
		}
	}
	if v := e.job(d.ID); v.State != api.StateRunning || live != 3 {
		t.Errorf("deployment %s with %d replicas on n1, want running with 3", v.State, live)
	}
}

// A restarted server knows the replicas a partial preemption takes: they
// are still told to stop, the others are not, and the snapshot lists
// them apart, terminating, for the job they make room for.
func TestPartialPreemptionSurvivesRestart(t *testing.T) {
	e := devEnv(t)
	d, boss := partialPreemption(e)
	e.s.store.Close()
	e2 := openEnv(t, e.dir, DevFacility("local", "FR"), true, e.clock)
	e2.mu()
	js := e2.s.jobs[d.ID]
	part, alloc := js.part, js.alloc
	e2.unmu()
	if part == nil || len(part.Replicas) != 1 || !part.Terminating || part.PreemptedFor != boss || alloc == nil || len(alloc.Replicas) != 3 {
		t.Fatalf("reloaded: part %+v, allocation %+v; want 1 replica leaving for %s, 3 running", part, alloc, boss)
	}
	stops := 0
	for _, tk := range e2.tasks("n1") {
		if tk.Stop {
			stops++
		}
	}
	if stops != 1 {
		t.Errorf("%d tasks stop after the restart, want 1", stops)
	}
}

func (e *env) mu()   { e.s.mu.Lock() }
func (e *env) unmu() { e.s.mu.Unlock() }

// A deployment's replica released on a node where a replica of the same
// deployment still leaves for a partial preemption keeps the job on that
// node (n.jobs): before, release looked at the allocation alone, so the
// node forgot a job whose leaving replica still ran there (not counted
// lost with a silent node, not guarding a forget-node).
func TestReleaseKeepsTheJobOnANodeItsLeavingReplicaHolds(t *testing.T) {
	e := devEnv(t)
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(4, 2, "min_replicas", 1, "priority_class", "low", "checkpoint_grace", "60s"), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1))
	e.submit(spec(4, 1, "priority_class", "high"))
	e.pass()
	kept := -1
	for _, r := range e.job(d.ID).Replicas {
		if r.StopBy == nil {
			kept = r.Index
		}
	}
	if kept < 0 {
		t.Fatalf("replicas %+v: want one kept", e.job(d.ID).Replicas)
	}
	e.report("n1", running(d.ID, 1-kept, 1), exited(d.ID, kept, 1, 1)) // the kept one ends; the taken one still leaves
	if r := e.job(d.ID).Replicas[kept]; !r.Released {
		t.Fatalf("replica %+v: want it released", r)
	}
	e.mu()
	held := e.s.nodes["n1"].jobs[d.ID]
	e.unmu()
	if !held {
		t.Errorf("n1 no longer lists %s while its replica leaving for the preemption still runs there", d.ID)
	}
}

// A deployment whose replicas leave for a partial preemption may say
// they are done (POST /v1/jobs/{id}/checkpoint), as a preempted job
// acknowledges its checkpoint: the replicas taken are stopped now, with
// no grace left, and the others run on untouched. Without replicas
// leaving, the call is a running deployment's routine checkpoint: it is
// recorded (200), stopping nothing.
func TestPartialPreemptionCheckpointAck(t *testing.T) {
	e := devEnv(t)
	d := runningDeployment(e)
	if code := e.do("POST", "/v1/jobs/"+d.ID+"/checkpoint", nil, &d); code != http.StatusOK || d.LastCheckpoint == nil || d.State != api.StateRunning {
		t.Errorf("checkpoint of a deployment nothing preempts: %d %s, last checkpoint %v; want 200, recorded", code, d.State, d.LastCheckpoint)
	}
	var p api.Problem
	boss := e.submit(spec(2, 1, "priority_class", "high"))
	e.pass()
	graces := func() map[int]float64 {
		out := map[int]float64{}
		for _, tk := range e.tasks("n1") {
			if tk.Job == d.ID && tk.Stop {
				out[tk.Replica] = tk.GraceSeconds
			}
		}
		return out
	}
	before := graces()
	if len(before) != 1 {
		t.Fatalf("stopping replicas %v (%s); want one", before, e.job(boss).Message)
	}
	for _, g := range before {
		if g != 60 {
			t.Fatalf("grace %v before the ack, want 60", g)
		}
	}
	if code := e.do("POST", "/v1/jobs/"+d.ID+"/checkpoint", api.CheckpointAck{Message: "drained"}, &p); code != http.StatusAccepted {
		t.Fatalf("ack of the replicas leaving: %d %s", code, p.Detail)
	}
	after := graces()
	if len(after) != 1 {
		t.Fatalf("after the ack, stopping replicas %v; want the same one", after)
	}
	for r, g := range after {
		if _, ok := before[r]; !ok || g != 0 {
			t.Errorf("after the ack, replica %d stops with grace %v; want replica of %v with 0", r, g, before)
		}
	}
	v := e.job(d.ID)
	if v.State != api.StateRunning {
		t.Errorf("deployment %s after the ack, want running", v.State)
	}
	var evs api.EventList
	e.do("GET", "/v1/jobs/"+d.ID+"/events", nil, &evs)
	said := false
	for _, ev := range evs.Events {
		said = said || ev.Type == api.EventCheckpoint && strings.Contains(ev.Message, "drained")
	}
	if !said {
		t.Errorf("no checkpoint event: %+v", evs.Events)
	}
}

// runningDeployment submits a deployment of 4 replicas × 2 GPUs
// (minimum 2, priority class low, 60 s of checkpoint grace), places it
// on n1's 8 GPUs and reports its replicas running.
func runningDeployment(e *env) api.Job {
	e.t.Helper()
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(2, 4, "min_replicas", 2, "priority_class", "low", "checkpoint_grace", "60s"), &d); code != http.StatusCreated {
		e.t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1), running(d.ID, 2, 1), running(d.ID, 3, 1))
	return d
}

// partialPreemption is runningDeployment, then a high-priority 2-GPU job
// (boss) whose pass takes one of the deployment's replicas.
func partialPreemption(e *env) (d api.Job, boss string) {
	e.t.Helper()
	d = runningDeployment(e)
	boss = e.submit(spec(2, 1, "priority_class", "high"))
	e.pass()
	return d, boss
}
