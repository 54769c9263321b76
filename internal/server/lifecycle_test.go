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

func devEnv(t *testing.T) *env {
	e := newEnv(t, DevFacility("local", "FR"), true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register: %d", code)
	}
	return e
}

// A gang is handed to its node whole, with the launcher's environment,
// and succeeds when every replica exits 0.
func TestGangLifecycle(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(2, 2, "env", map[string]string{"A": "1"}))
	e.pass()
	tasks := e.tasks("n1")
	if len(tasks) != 2 {
		t.Fatalf("%d tasks, want 2: %+v", len(tasks), tasks)
	}
	for i, tk := range tasks {
		want := map[string]string{"CARNOT_JOB_ID": id, "RANK": string(rune('0' + i)), "WORLD_SIZE": "2", "A": "1", "CARNOT_ATTEMPT": "1"}
		for k, v := range want {
			if tk.Env[k] != v {
				t.Errorf("task %d: %s=%q, want %q", i, k, tk.Env[k], v)
			}
		}
		if len(strings.Split(tk.Env["CUDA_VISIBLE_DEVICES"], ",")) != 2 || tk.Stop {
			t.Errorf("task %d: %+v", i, tk)
		}
	}
	if j := e.job(id); j.State != api.StateRunning || j.Attempt != 1 {
		t.Fatalf("after the pass: %s attempt %d", j.State, j.Attempt)
	}
	e.report("n1", running(id, 0, 1), running(id, 1, 1))
	e.clock.add(time.Minute)
	e.report("n1", exited(id, 0, 1, 0), running(id, 1, 1))
	if j := e.job(id); j.State != api.StateRunning {
		t.Fatalf("one replica of two exited 0: job %s, want running", j.State)
	}
	e.report("n1", exited(id, 1, 1, 0))
	j := e.job(id)
	if j.State != api.StateSucceeded || j.ExitCode == nil || *j.ExitCode != 0 || j.EndTime == nil {
		t.Fatalf("job %+v, want succeeded with exit code 0", j)
	}
	if want := 4 * 60.0; j.Usage.GPUSeconds != want {
		t.Errorf("GPU-seconds %v, want %v", j.Usage.GPUSeconds, want)
	}
	if _, ok := e.s.jobs[id]; ok {
		t.Errorf("a finished job stays in memory")
	}
	if n := len(e.tasks("n1")); n != 0 {
		t.Errorf("%d tasks left on the node", n)
	}
}

// A failing replica stops the rest of its gang; with restart on-failure
// the job goes back to the queue and runs again as a new attempt.
func TestGangFailsWholeAndRestarts(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 2, "restart", "on-failure", "max_retries", 1))
	e.pass()
	e.report("n1", running(id, 0, 1), running(id, 1, 1))
	e.report("n1", exited(id, 0, 1, 3), running(id, 1, 1))
	tasks := e.tasks("n1")
	if len(tasks) != 1 || !tasks[0].Stop || tasks[0].Replica != 1 || tasks[0].GraceSeconds != 5 {
		t.Fatalf("after replica 0 failed, tasks %+v; want replica 1 stopping with 5 s grace", tasks)
	}
	term := 143
	e.report("n1", api.TaskStatus{Job: id, Replica: 1, Attempt: 1, State: api.ReplicaExited, ExitCode: &term, Signal: "terminated"})
	j := e.job(id)
	if j.State != api.StatePending || j.Restarts != 1 || !strings.Contains(j.Message, "replica 0 exited with code 3") {
		t.Fatalf("job %s restarts %d %q, want pending after its first restart", j.State, j.Restarts, j.Message)
	}
	e.pass()
	if j := e.job(id); j.Attempt != 2 || j.State != api.StateRunning {
		t.Fatalf("second attempt: %s attempt %d", j.State, j.Attempt)
	}
	// A stale report of attempt 1 changes nothing.
	e.report("n1", exited(id, 0, 1, 0))
	e.report("n1", exited(id, 0, 2, 1), exited(id, 1, 2, 1))
	j = e.job(id)
	if j.State != api.StateFailed || *j.ExitCode != 1 || j.Restarts != 1 {
		t.Fatalf("job %s exit %v restarts %d, want failed after its one retry", j.State, j.ExitCode, j.Restarts)
	}
}

// A node silent for the heartbeat timeout is not ready and its replicas
// are lost: their gangs are handled whole.
func TestSilentNodeLosesItsReplicas(t *testing.T) {
	e := devEnv(t)
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatal(code)
	}
	id := e.submit(spec(8, 2))
	e.pass()
	e.report("n1", running(id, 0, 1))
	e.report("n2", running(id, 1, 1))
	e.clock.add(6 * time.Second)
	e.report("n1", running(id, 0, 1))
	e.clock.add(6 * time.Second)
	e.pass() // n2 silent for 12 s > 10 s
	var n api.Node
	e.do("GET", "/v1/nodes/n2", nil, &n)
	if n.Condition != api.NodeNotReady {
		t.Fatalf("n2 is %s, want not-ready", n.Condition)
	}
	j := e.job(id)
	if j.Replicas[1].State != api.ReplicaLost {
		t.Fatalf("replica on n2: %+v", j.Replicas[1])
	}
	tasks := e.tasks("n1")
	if len(tasks) != 1 || !tasks[0].Stop {
		t.Fatalf("the gang's other replica is not stopped: %+v", tasks)
	}
	e.report("n1", exited(id, 0, 1, 143))
	if j := e.job(id); j.State != api.StateFailed || !strings.Contains(j.Message, "lost") {
		t.Fatalf("job %s %q, want failed: lost", j.State, j.Message)
	}
	// n2 comes back: ready again, and it runs nothing.
	e.report("n2")
	e.do("GET", "/v1/nodes/n2", nil, &n)
	if n.Condition != api.NodeReady || len(e.tasks("n2")) != 0 {
		t.Fatalf("n2 back: %s with %d tasks", n.Condition, len(e.tasks("n2")))
	}
}

// Cancel: a pending job at once, a running one once its replicas ended.
func TestCancel(t *testing.T) {
	e := devEnv(t)
	// Jobs submitted at one instant go in ID order.
	run := e.submit(spec(8, 1, "checkpoint_grace", "30s", "id", "a-run"))
	wait := e.submit(spec(8, 1, "id", "b-wait"))
	e.pass()
	var j api.Job
	if code := e.do("POST", "/v1/jobs/"+wait+"/cancel", nil, &j); code != 200 || j.State != api.StateCancelled {
		t.Fatalf("cancel pending: %d %s", code, j.State)
	}
	if code := e.do("POST", "/v1/jobs/"+run+"/cancel", nil, &j); code != http.StatusAccepted || j.State != api.StateCancelling {
		t.Fatalf("cancel running: %d %s", code, j.State)
	}
	if tk := e.tasks("n1"); len(tk) != 1 || !tk[0].Stop || tk[0].GraceSeconds != 30 {
		t.Fatalf("tasks %+v, want one stopping with the job's 30 s grace", tk)
	}
	e.report("n1", exited(run, 0, 1, 143))
	if j := e.job(run); j.State != api.StateCancelled {
		t.Fatalf("after the replica ended: %s", j.State)
	}
	var p api.Problem
	if code := e.do("POST", "/v1/jobs/"+run+"/cancel", nil, &p); code != http.StatusConflict {
		t.Fatalf("cancel a cancelled job: %d %+v", code, p)
	}
	if code := e.do("POST", "/v1/jobs/nope/cancel", nil, &p); code != http.StatusNotFound {
		t.Fatalf("cancel an unknown job: %d", code)
	}
}

// A higher-priority job preempts a lower one: the victim's tasks are
// stopped with its checkpoint grace; acknowledging the checkpoint stops
// them at once; once they ended the victim is pending again and the GPUs
// are claimed for the job they were freed for.
func TestPreemptionAndCheckpointAck(t *testing.T) {
	e := devEnv(t)
	victim := e.submit(spec(8, 1, "priority_class", "low", "checkpoint_grace", "60s"))
	e.pass()
	e.report("n1", running(victim, 0, 1))
	boss := e.submit(spec(8, 1, "priority_class", "high"))
	e.pass()
	v := e.job(victim)
	if v.State != api.StatePreempting || v.Preemptions != 1 {
		t.Fatalf("victim %s preemptions %d: %s", v.State, v.Preemptions, e.job(boss).Message)
	}
	tk := e.tasks("n1")
	if len(tk) != 1 || !tk[0].Stop || tk[0].GraceSeconds != 60 {
		t.Fatalf("victim tasks %+v", tk)
	}
	var p api.Problem
	if code := e.do("POST", "/v1/jobs/"+boss+"/checkpoint", nil, &p); code != http.StatusConflict {
		t.Errorf("checkpoint of a job not preempted: %d", code)
	}
	if code := e.do("POST", "/v1/jobs/"+victim+"/checkpoint", api.CheckpointAck{Message: "saved step 1200"}, nil); code != http.StatusAccepted {
		t.Fatalf("checkpoint ack: %d", code)
	}
	if tk := e.tasks("n1"); len(tk) != 1 || !tk[0].Stop || tk[0].GraceSeconds != 0 {
		t.Fatalf("after the ack, tasks %+v; want grace 0", tk)
	}
	e.report("n1", api.TaskStatus{Job: victim, Replica: 0, Attempt: 1, State: api.ReplicaExited, Signal: "killed"})
	if v := e.job(victim); v.State != api.StatePending {
		t.Fatalf("evicted victim is %s", v.State)
	}
	for g, st := range e.s.nodes["n1"].gpus {
		if st.ClaimedBy != boss {
			t.Errorf("GPU %d claimed by %q, want %q", g, st.ClaimedBy, boss)
		}
	}
	e.pass()
	if b := e.job(boss); b.State != api.StateRunning {
		t.Fatalf("beneficiary %s: %s", b.State, b.Message)
	}
	for g, st := range e.s.nodes["n1"].gpus {
		if st.ClaimedBy != "" {
			t.Errorf("GPU %d still claimed by %q after the beneficiary started", g, st.ClaimedBy)
		}
	}
	if v := e.job(victim); v.State != api.StatePending || v.Reason == nil {
		t.Fatalf("victim %s with reason %v", v.State, v.Reason)
	}
}

// A drained node keeps its work and takes nothing new.
func TestDrain(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(4, 1))
	e.pass()
	var n api.Node
	if code := e.do("POST", "/v1/nodes/n1/drain", nil, &n); code != 200 || !n.Drained {
		t.Fatalf("drain: %d %+v", code, n)
	}
	b := e.submit(spec(4, 1))
	e.pass()
	if j := e.job(b); j.State != api.StatePending || j.Reason == nil {
		t.Fatalf("job on a drained node: %s", j.State)
	}
	if j := e.job(a); j.State != api.StateRunning {
		t.Fatalf("running job on the drained node: %s", j.State)
	}
	e.do("POST", "/v1/nodes/n1/undrain", nil, &n)
	e.pass()
	if j := e.job(b); j.State != api.StateRunning {
		t.Fatalf("after undrain: %s (%s)", j.State, j.Message)
	}
}

// A running job's GPU time shows as it accrues, in the job and in usage.
func TestLiveGPUTime(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(2, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	e.clock.add(30 * time.Minute)
	if got := e.job(id).Usage.GPUSeconds; got != 2*1800 {
		t.Errorf("running job's GPU-seconds %v, want 3600", got)
	}
	var u api.UsageList
	e.do("GET", "/v1/usage", nil, &u)
	if len(u.Tenants) != 1 || u.Tenants[0].GPUSeconds != 3600 || u.Total.GPUSeconds != 3600 {
		t.Errorf("usage %+v, want 3600 GPU-seconds for default", u)
	}
	e.clock.add(30 * time.Minute)
	e.report("n1", exited(id, 0, 1, 0))
	e.do("GET", "/v1/usage", nil, &u)
	if u.Total.GPUSeconds != 7200 || e.job(id).Usage.GPUSeconds != 7200 {
		t.Errorf("after the end: usage %v, job %v; want 7200", u.Total.GPUSeconds, e.job(id).Usage.GPUSeconds)
	}
}

// A node that goes silent while it runs replicas may still run them: the
// snapshot calls it unreachable (the core counts it at nameplate and
// places nothing on it) until its agent reports that it runs none of
// them any more; a node silent with nothing to run is only down.
func TestSilentNodeWithWorkIsUnreachable(t *testing.T) {
	e := devEnv(t)
	for _, n := range []string{"n2", "n3"} {
		if code := e.register(n, "local", 8); code != 200 {
			t.Fatal(code)
		}
	}
	id := e.submit(spec(8, 1))
	e.pass()
	node := e.job(id).Replicas[0].Node
	e.report(node, running(id, 0, 1))
	e.clock.add(12 * time.Second) // every node silent for 12 s > 10 s
	e.pass()
	condition := func(name string) model.NodeCondition {
		e.s.mu.Lock()
		defer e.s.mu.Unlock()
		for _, st := range e.s.nodeStates() {
			if st.Node == name {
				return st.Condition
			}
		}
		return ""
	}
	if c := condition(node); c != model.NodeUnreachable {
		t.Fatalf("%s went silent running %s: %s, want unreachable", node, id, c)
	}
	for _, n := range []string{"n1", "n2", "n3"} {
		if c := condition(n); n != node && c != model.NodeDown {
			t.Errorf("%s went silent with nothing to run: %s, want down", n, c)
		}
	}
	// Back, it still runs the lost replica until its agent kills it.
	e.report(node, running(id, 0, 1))
	if c := condition(node); c != model.NodeUnreachable {
		t.Fatalf("%s back, still running the lost replica: %s, want unreachable", node, c)
	}
	e.report(node)
	if c := condition(node); c != model.NodeUp {
		t.Fatalf("%s back, running nothing: %s, want up", node, c)
	}
}

// An agent that registers again while it still runs a replica the node
// lost when it went silent keeps the node unreachable until it reports
// that replica stopped.
func TestRegisteringAgainWithLostWorkStaysUnreachable(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(8, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	e.clock.add(12 * time.Second)
	e.pass()
	condition := func() model.NodeCondition {
		e.s.mu.Lock()
		defer e.s.mu.Unlock()
		return e.s.nodes["n1"].condition()
	}
	if c := condition(); c != model.NodeUnreachable {
		t.Fatalf("n1 went silent running %s: %s, want unreachable", id, c)
	}
	if code := e.register("n1", "local", 8, running(id, 0, 1)); code != 200 {
		t.Fatal(code)
	}
	if c := condition(); c != model.NodeUnreachable {
		t.Fatalf("n1 registered again, still running the lost replica: %s, want unreachable", c)
	}
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatal(code)
	}
	if c := condition(); c != model.NodeUp {
		t.Fatalf("n1 registered again running nothing: %s, want up", c)
	}
}

// A running job found, at a restart, in a site its facility's policy no
// longer allows (here its tenant was narrowed to DE; the site is FR)
// runs on, and an event records it.
func TestRestartFlagsRunningWorkOutsideItsPolicy(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(2, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	e.s.store.Close()
	fac := DevFacility("local", "FR")
	fac.Tenants[0].Jurisdictions = []string{"DE"}
	e2 := openEnv(t, e.dir, fac, true, e.clock)
	if j := e2.job(id); j.State != api.StateRunning {
		t.Fatalf("after the restart: %s, want running", j.State)
	}
	var evs api.EventList
	e2.do("GET", "/v1/jobs/"+id+"/events", nil, &evs)
	if !slices.ContainsFunc(evs.Events, func(ev api.Event) bool {
		return ev.Type == api.EventSovereignty && strings.Contains(ev.Message, "site local")
	}) {
		t.Fatalf("no sovereignty event for %s: %+v", id, evs.Events)
	}
	// The same job under the old policy raises nothing.
	e2.s.store.Close()
	e3 := openEnv(t, e.dir, DevFacility("local", "FR"), true, e.clock)
	var again api.EventList
	e3.do("GET", "/v1/jobs/"+id+"/events", nil, &again)
	if n := len(again.Events) - len(evs.Events); n != 0 {
		t.Errorf("a restart under a policy that allows the job added %d event(s)", n)
	}
}

// Under outside_jurisdiction: requeue, a restart under a narrowed
// policy stops work found outside it like a preemption victim (its
// checkpoint grace, then back in the queue), and the core starts it
// again only where it is allowed.
func TestRestartRequeuesRunningWorkOutsideItsPolicy(t *testing.T) {
	e := newEnv(t, twoSites(), true)
	if code := e.register("n2", "de", 8); code != 200 {
		t.Fatalf("register n2: %d", code)
	}
	id := e.submit(spec(8, 1, "checkpoint_grace", "90s"))
	e.pass()
	e.report("n2", running(id, 0, 1))
	if code := e.register("n1", "fr", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	e.s.store.Close()

	fac := twoSites()
	fac.Tenants[0].Jurisdictions = []string{"FR"}
	fac.Policy.Outside = model.OutsideRequeue
	e2 := openEnv(t, e.dir, fac, true, e.clock)
	j := e2.job(id)
	if j.State != api.StatePreempting || !strings.Contains(j.Message, "requeued: ran in site de") {
		t.Fatalf("after the restart: %s %q, want preempting, requeued", j.State, j.Message)
	}
	tk := e2.tasks("n2")
	if len(tk) != 1 || !tk[0].Stop || tk[0].GraceSeconds != 90 {
		t.Fatalf("tasks of n2 %+v, want the replica stopped with its 90 s grace", tk)
	}
	e2.report("n2", api.TaskStatus{Job: id, Replica: 0, Attempt: 1, State: api.ReplicaExited, Signal: "terminated"})
	if j := e2.job(id); j.State != api.StatePending {
		t.Fatalf("stopped: %s %q, want pending", j.State, j.Message)
	}
	e2.pass()
	j = e2.job(id)
	if j.State != api.StateRunning || len(j.Replicas) != 1 || j.Replicas[0].Node != "n1" {
		t.Fatalf("restarted: %s on %+v, want running on n1 (fr): %s", j.State, j.Replicas, j.Message)
	}
	var evs api.EventList
	e2.do("GET", "/v1/jobs/"+id+"/events", nil, &evs)
	if !slices.ContainsFunc(evs.Events, func(ev api.Event) bool {
		return ev.Type == api.EventSovereignty && strings.Contains(ev.Message, "outside_jurisdiction: requeue")
	}) {
		t.Fatalf("no sovereignty event for %s: %+v", id, evs.Events)
	}
}

// A node back from silence that still runs a replica it lost, and goes
// silent again before it reports that replica stopped, may still run it:
// it stays unreachable.
func TestSilentAgainWithLostWorkStaysUnreachable(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(8, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	e.clock.add(12 * time.Second)
	e.pass()
	e.report("n1", running(id, 0, 1)) // back, still running it
	if c := e.condition("n1"); c != model.NodeUnreachable {
		t.Fatalf("n1 back, still running the lost replica: %s, want unreachable", c)
	}
	e.clock.add(12 * time.Second)
	e.pass()
	if c := e.condition("n1"); c != model.NodeUnreachable {
		t.Fatalf("n1 silent again before it stopped the lost replica: %s, want unreachable", c)
	}
}

// An agent reports lost a replica whose process it lost: the node's
// previous agent died after starting it, whether it reported the start
// (replica 0, running) or not (replica 1, still assigned). Its gang is
// stopped whole and the job retried by its restart policy, as for a
// replica lost with its node; the replicas are not handed out again in
// that attempt.
func TestAgentReportsReplicasLost(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(2, 3, "restart", "on-failure", "max_retries", 1))
	e.pass()
	e.report("n1", running(id, 0, 1), running(id, 2, 1))
	why := "the node's agent died while it ran"
	lost := func(replica int) api.TaskStatus {
		return api.TaskStatus{Job: id, Replica: replica, Attempt: 1, State: api.ReplicaLost, Error: why}
	}
	if code := e.register("n1", "local", 8, lost(0), lost(1), running(id, 2, 1)); code != 200 {
		t.Fatal(code)
	}
	j := e.job(id)
	for _, i := range []int{0, 1} {
		if r := j.Replicas[i]; r.State != api.ReplicaLost || r.Error != why {
			t.Errorf("replica %d: %s %q, want lost: %s", i, r.State, r.Error, why)
		}
	}
	tasks := e.tasks("n1")
	if len(tasks) != 1 || tasks[0].Replica != 2 || !tasks[0].Stop {
		t.Fatalf("tasks %+v, want replica 2 alone, stopping", tasks)
	}
	e.report("n1", exited(id, 2, 1, 143))
	if j := e.job(id); j.State != api.StatePending || j.Restarts != 1 || !strings.Contains(j.Message, "lost: "+why) {
		t.Fatalf("job %s restarts %d %q, want pending after its first restart, the replica lost", j.State, j.Restarts, j.Message)
	}
	e.pass()
	if j := e.job(id); j.Attempt != 2 || len(e.tasks("n1")) != 3 {
		t.Fatalf("second attempt: %s attempt %d, %d tasks", j.State, j.Attempt, len(e.tasks("n1")))
	}
}

// A job the policy requeued, whose replica has not stopped when the
// server restarts again, still says why once it is back in the queue:
// the stop's reason is read back with the job, not lost with memory (the
// job said only "; back in the queue", and so did its eviction's event);
// a cancel read back likewise ends as cancelled with its reason.
func TestStopReasonSurvivesARestart(t *testing.T) {
	e := newEnv(t, twoSites(), true)
	if code := e.register("n2", "de", 8); code != 200 {
		t.Fatalf("register n2: %d", code)
	}
	moved := e.submit(spec(4, 1))
	cancelled := e.submit(spec(4, 1))
	e.pass()
	e.report("n2", running(moved, 0, 1), running(cancelled, 0, 1))
	if code := e.do("POST", "/v1/jobs/"+cancelled+"/cancel", nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel: %d", code)
	}
	e.s.store.Close()
	fac := twoSites()
	fac.Tenants[0].Jurisdictions = []string{"FR"}
	fac.Policy.Outside = model.OutsideRequeue
	e = openEnv(t, e.dir, fac, true, e.clock)
	if j := e.job(moved); j.State != api.StatePreempting {
		t.Fatalf("after the first restart: %s %q, want preempting", j.State, j.Message)
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, fac, true, e.clock)
	e.report("n2", api.TaskStatus{Job: moved, Replica: 0, Attempt: 1, State: api.ReplicaExited, Signal: "terminated"},
		api.TaskStatus{Job: cancelled, Replica: 0, Attempt: 1, State: api.ReplicaExited, Signal: "terminated"})
	if j := e.job(moved); j.State != api.StatePending || !strings.HasPrefix(j.Message, "requeued: ran in site de") {
		t.Errorf("requeued job once stopped: %s %q, want pending, saying why", j.State, j.Message)
	}
	if j := e.job(cancelled); j.State != api.StateCancelled || j.Message != "cancelled" {
		t.Errorf("cancelled job once stopped: %s %q, want cancelled, saying so", j.State, j.Message)
	}
	var evs api.EventList
	e.do("GET", "/v1/jobs/"+moved+"/events", nil, &evs)
	for _, ev := range evs.Events {
		if ev.Type == api.EventEvicted && !strings.HasPrefix(ev.Message, "requeued: ") {
			t.Errorf("eviction event %q does not say why", ev.Message)
		}
		// the second restart found it outside its policy, stopping
		if ev.Type == api.EventSovereignty && strings.Contains(ev.Message, "runs on") {
			t.Errorf("sovereignty event %q says a job being stopped runs on", ev.Message)
		}
	}
}

// twoSites is the dev facility with a site fr (France) and a second
// site de (Germany).
func twoSites() *model.Facility {
	fac := DevFacility("fr", "FR")
	fac.Sites = append(fac.Sites, model.Site{ID: "de", Name: "Frankfurt", Country: "DE", Operator: "local",
		Jurisdictions: []string{"EU", "DE"}, PowerEnvelopeKW: 100, PUE: 1.2, GridZone: "DE"})
	fac.Halls = append(fac.Halls, model.Hall{ID: "de-hall", Site: "de", Cooling: model.CoolingAir})
	return fac
}
