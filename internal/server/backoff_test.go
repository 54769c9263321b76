package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// crashLoop is a running two-replica deployment on n1 whose replica 1
// runs; it returns the env and the deployment's ID.
func crashLoop(t *testing.T) (*env, string) {
	t.Helper()
	e := devEnv(t)
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(1, 2), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1))
	return e, d.ID
}

// A deployment's replica that fails soon after its start is replaced at
// once the first time, then after a back-off that doubles with each such
// failure in a row (before, a crashing replica restarted as fast as
// passes ran); its GPU stays the deployment's meanwhile.
func TestCrashingDeploymentReplicaBacksOff(t *testing.T) {
	e, d := crashLoop(t)
	e.clock.add(time.Second)
	e.report("n1", running(d, 0, 1), exited(d, 1, 1, 1))
	e.pass()
	if rs := e.job(d).Replicas; len(rs) != 3 || rs[2].State != api.ReplicaAssigned {
		t.Fatalf("replicas %+v after the first failure; want a replacement at once", rs)
	}
	e.report("n1", running(d, 0, 1), running(d, 2, 1))
	for k, wait := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second} {
		n := len(e.job(d).Replicas)
		last := e.job(d).Replicas[n-1].Index
		e.clock.add(time.Second)
		e.report("n1", running(d, 0, 1), exited(d, last, 1, 1))
		e.pass()
		if got := len(e.job(d).Replicas); got != n {
			t.Fatalf("failure %d: %d replicas right after it; want no replacement yet", k+2, got)
		}
		if used := e.gpusUsed("n1"); used != 2 {
			t.Errorf("failure %d: n1 has %d GPUs in use during the back-off; want the deployment's 2", k+1, used)
		}
		for left := wait - time.Second; left > 0; left -= 5 * time.Second { // n1 keeps in touch
			e.clock.add(min(left, 5*time.Second))
			e.report("n1", running(d, 0, 1))
			e.pass()
		}
		if got := len(e.job(d).Replicas); got != n {
			t.Fatalf("failure %d: %d replicas a second before the %s back-off ends; want none new", k+1, got, wait)
		}
		e.clock.add(time.Second)
		e.report("n1", running(d, 0, 1))
		e.pass()
		rs := e.job(d).Replicas
		if len(rs) != n+1 || rs[n].State != api.ReplicaAssigned {
			t.Fatalf("failure %d: replicas %+v once the %s back-off ended; want one more, assigned", k+1, rs, wait)
		}
		e.report("n1", running(d, 0, 1), running(d, rs[n].Index, 1))
	}
	if evs := e.eventsOf(d, api.EventReplica); !strings.Contains(strings.Join(evs, "\n"), "is replaced in 40s: 4 replica(s) in a row ended") {
		t.Errorf("events %q; want the back-off said", evs)
	}
}

// A replica that ran longer than the crash window, or exited 0, is
// replaced at once, and resets the count.
func TestLongRunningDeploymentReplicaReplacedAtOnce(t *testing.T) {
	for name, end := range map[string]func(d string) api.TaskStatus{
		"failed after 11 minutes": func(d string) api.TaskStatus { return exited(d, 1, 1, 1) },
		"exited 0":                func(d string) api.TaskStatus { return exited(d, 1, 1, 0) },
	} {
		t.Run(name, func(t *testing.T) {
			e, d := crashLoop(t)
			if name != "exited 0" {
				e.clock.add(11 * time.Minute)
				e.report("n1", running(d, 0, 1), running(d, 1, 1))
			}
			e.report("n1", running(d, 0, 1), end(d))
			e.pass()
			if rs := e.job(d).Replicas; len(rs) != 3 || rs[2].State != api.ReplicaAssigned {
				t.Errorf("replicas %+v; want a replacement at once", rs)
			}
		})
	}
}

// A replica that exits 0 soon after its start counts in the row as a
// failure does (Kubernetes backs a restarting container off whatever its
// exit code): before, a command that ends at once with 0 (`echo ready`)
// was replaced as fast as passes ran, each time with events and audit
// entries, without end.
func TestQuickCleanExitsBackOff(t *testing.T) {
	e, d := crashLoop(t)
	e.clock.add(time.Second)
	e.report("n1", running(d, 0, 1), exited(d, 1, 1, 0))
	e.pass()
	rs := e.job(d).Replicas
	if len(rs) != 3 || rs[2].State != api.ReplicaAssigned {
		t.Fatalf("replicas %+v after the first clean exit; want a replacement at once", rs)
	}
	e.report("n1", running(d, 0, 1), running(d, rs[2].Index, 1))
	e.clock.add(time.Second)
	e.report("n1", running(d, 0, 1), exited(d, rs[2].Index, 1, 0))
	e.pass()
	if got := len(e.job(d).Replicas); got != 3 {
		t.Fatalf("%d replicas right after the second clean exit in a row; want none new until its back-off ends", got)
	}
	if evs := e.eventsOf(d, api.EventReplica); !strings.Contains(strings.Join(evs, "\n"), "is replaced in 10s: 2 replica(s) in a row ended within 10m0s of their start") {
		t.Errorf("events %q; want the back-off said", evs)
	}
}

// gpusUsed is the GPUs of node in use, as GET /v1/nodes/{node} says.
func (e *env) gpusUsed(node string) int {
	e.t.Helper()
	var n api.Node
	if code := e.do("GET", "/v1/nodes/"+node, nil, &n); code != 200 {
		e.t.Fatalf("node %s: %d", node, code)
	}
	return n.GPUsUsed
}

// A crash-looping replica's back-off, and the count of failures in a row
// that sets it, survive a restart or a change of leader: the replacement
// still waits (before, a restarted server replaced it at once and
// counted from one again), and the GPUs stay the deployment's meanwhile.
func TestCrashBackoffSurvivesRestart(t *testing.T) {
	e, d := crashLoop(t)
	for _, idx := range []int{1, 2} { // the first failure is replaced at once
		e.clock.add(time.Second)
		e.report("n1", running(d, 0, 1), exited(d, idx, 1, 1))
		e.pass()
		if idx == 1 {
			e.report("n1", running(d, 0, 1), running(d, 2, 1))
		}
	}
	n := len(e.job(d).Replicas)
	e = e.restart(true)
	e.report("n1", running(d, 0, 1))
	e.pass()
	if got := len(e.job(d).Replicas); got != n {
		t.Fatalf("%d replicas right after the restart; want %d: the 10s back-off still runs", got, n)
	}
	if used := e.gpusUsed("n1"); used != 2 {
		t.Errorf("n1 has %d GPUs in use during the back-off after the restart; want the deployment's 2", used)
	}
	e.clock.add(10 * time.Second)
	e.report("n1", running(d, 0, 1))
	e.pass()
	rs := e.job(d).Replicas
	if len(rs) != n+1 || rs[n].State != api.ReplicaAssigned {
		t.Fatalf("replicas %+v once the back-off ended; want one more, assigned", rs)
	}
	e.report("n1", running(d, 0, 1), running(d, rs[n].Index, 1))
	e = e.restart(true)
	e.clock.add(time.Second)
	e.report("n1", running(d, 0, 1), exited(d, rs[n].Index, 1, 1))
	e.pass()
	if got := len(e.job(d).Replicas); got != n+1 {
		t.Fatalf("%d replicas after a third failure in a row, across a restart; want no replacement yet (20s back-off)", got)
	}
	if evs := e.eventsOf(d, api.EventReplica); !strings.Contains(strings.Join(evs, "\n"), "is replaced in 20s: 3 replica(s) in a row ended") {
		t.Errorf("events %q; want the third failure's 20s back-off, counted across the restart", evs)
	}
}

// A deployment stopped during a replica's back-off replaces nothing: the
// replica's replace_at goes with the stop (before, a cancelled or
// preempted deployment's record, and a restarted server's, still said
// it would be replaced), and its GPUs stay the deployment's until the
// attempt ends.
func TestCancelDuringBackoffEndsIt(t *testing.T) {
	e, d := crashLoop(t)
	for _, idx := range []int{1, 2} { // the second failure backs off
		e.clock.add(time.Second)
		e.report("n1", running(d, 0, 1), exited(d, idx, 1, 1))
		e.pass()
		if idx == 1 {
			e.report("n1", running(d, 0, 1), running(d, 2, 1))
		}
	}
	if r := e.job(d).Replicas[2]; r.ReplaceAt == nil {
		t.Fatalf("replica 2 %+v; want it backing off", r)
	}
	if code := e.do("POST", "/v1/jobs/"+d+"/cancel", nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel: %d", code)
	}
	if evs := e.eventsOf(d, api.EventCancel); len(evs) != 1 || !strings.HasPrefix(evs[0], "stopping 1 replica ") {
		t.Errorf("cancel events %q; want it to stop the 1 replica that runs (the other backs off)", evs)
	}
	check := func(when string) {
		t.Helper()
		j := e.job(d)
		for _, r := range j.Replicas {
			if r.ReplaceAt != nil {
				t.Errorf("%s: replica %d of the %s deployment says it is replaced at %v", when, r.Index, j.State, r.ReplaceAt)
			}
		}
	}
	check("cancelling")
	e = e.restart(true)
	e.clock.add(20 * time.Second) // past the back-off's end
	e.report("n1", running(d, 0, 1))
	e.pass()
	check("cancelling, after a restart")
	if rs := e.job(d).Replicas; len(rs) != 3 {
		t.Errorf("%d replicas; want no replacement for a deployment being cancelled", len(rs))
	}
	if used := e.gpusUsed("n1"); used != 2 {
		t.Errorf("n1 has %d GPUs in use while the deployment stops; want its 2", used)
	}
	e.report("n1", api.TaskStatus{Job: d, Replica: 0, Attempt: 1, State: api.ReplicaExited, Signal: "terminated"})
	if j := e.job(d); j.State != api.StateCancelled {
		t.Fatalf("state %s once its last replica ended; want cancelled", j.State)
	}
	check("cancelled")
}

// A deployment says "every replica is running" once as many replicas as
// it has run, its ended ones aside: after a replacement (before, the
// ended replica kept it from ever saying so again) and not while it runs
// fewer than its replicas (before, min_replicas of them running said so).
func TestDeploymentSaysEveryReplicaRunsAfterAReplacement(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	if code := e.register("n1", "local", 2); code != 200 {
		t.Fatalf("register: %d", code)
	}
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(1, 3, "min_replicas", 2), &d); code != http.StatusCreated {
		t.Fatalf("submit: %d", code)
	}
	e.pass()
	e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1))
	if evs := e.eventsOf(d.ID, api.EventRunning); len(evs) != 0 {
		t.Errorf("running events %q with 2 of 3 replicas running; want none", evs)
	}
	if code := e.register("n2", "local", 1); code != 200 {
		t.Fatalf("register n2: %d", code)
	}
	e.pass()
	e.report("n2", running(d.ID, 2, 1))
	if evs := e.eventsOf(d.ID, api.EventRunning); len(evs) != 1 {
		t.Errorf("running events %q once its 3 replicas run; want one", evs)
	}
	e.clock.add(time.Hour)
	e.report("n2", running(d.ID, 2, 1))
	e.report("n1", running(d.ID, 0, 1), exited(d.ID, 1, 1, 0))
	e.pass()
	if rs := e.job(d.ID).Replicas; len(rs) != 4 || rs[3].Node != "n1" {
		t.Fatalf("replicas %+v; want replica 3 on n1 in place of replica 1", rs)
	}
	e.report("n1", running(d.ID, 0, 1), running(d.ID, 3, 1))
	if evs := e.eventsOf(d.ID, api.EventRunning); len(evs) != 2 {
		t.Errorf("running events %q once its replacement runs; want a second one", evs)
	}
}

// A deployment ends with its last replicas: its outcome and exit code are
// theirs and those of a replica backing off after a crash, not those of
// a replica that crashed and was replaced long before (before, it
// succeeded "every replica exited with code 0" with that replica's
// exit code).
func TestDeploymentOutcomeIsItsLastReplicas(t *testing.T) {
	for name, c := range map[string]struct {
		backoff bool
		state   string
		code    int
	}{
		"a replaced crash":    {false, api.StateSucceeded, 0},
		"a crash backing off": {true, api.StateFailed, 3},
	} {
		t.Run(name, func(t *testing.T) {
			e, d := crashLoop(t)
			e.clock.add(time.Second)
			e.report("n1", running(d, 0, 1), exited(d, 1, 1, 3))
			e.pass()
			e.report("n1", running(d, 0, 1), running(d, 2, 1))
			last := []api.TaskStatus{exited(d, 0, 1, 0), exited(d, 2, 1, 0)}
			if c.backoff {
				e.report("n1", running(d, 0, 1), exited(d, 2, 1, 3))
				if r := e.job(d).Replicas[2]; r.ReplaceAt == nil {
					t.Fatalf("replica 2 %+v; want it backing off", r)
				}
				last = last[:1]
			}
			e.clock.add(time.Hour)
			e.report("n1", last...)
			j := e.job(d)
			got := "none"
			if j.ExitCode != nil {
				got = fmt.Sprint(*j.ExitCode)
			}
			if j.State != c.state || got != fmt.Sprint(c.code) {
				t.Errorf("%s %q, exit code %s; want %s with exit code %d", j.State, j.Message, got, c.state, c.code)
			}
		})
	}
}

// The plan's view of a deployment's scale-up names the replicas by the
// indices they have in the job's record (before, from 0, as if it were a
// new attempt).
func TestPlanNamesScaleUpReplicasByTheirIndex(t *testing.T) {
	e, d := crashLoop(t)
	e.clock.add(time.Hour)
	e.report("n1", running(d, 0, 1), exited(d, 1, 1, 0))
	e.pass()
	var p api.Plan
	if code := e.do("GET", "/v1/plan", nil, &p); code != 200 {
		t.Fatalf("plan: %d", code)
	}
	if len(p.Starts) != 1 || len(p.Starts[0].Replicas) != 1 {
		t.Fatalf("plan starts %+v; want the deployment's replacement", p.Starts)
	}
	got, rs := p.Starts[0].Replicas[0], e.job(d).Replicas
	if want := rs[len(rs)-1]; got.Index != want.Index || got.Node != want.Node || got.Index != 2 {
		t.Errorf("plan's replica %d on %s; want replica %d on %s, as in the job's record", got.Index, got.Node, want.Index, want.Node)
	}
}

// A deployment whose last replica crashes is queued again by its restart
// policy; when it crashed in a row, only after the back-off, which a
// restarted server keeps (before, each attempt started at the next
// pass: a crash-looping single replica restarted max_retries times
// without a pause).
func TestCrashLoopingDeploymentRestartsAfterABackoff(t *testing.T) {
	e := devEnv(t)
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(1, 1, "restart", "on-failure", "max_retries", 100), &d); code != http.StatusCreated {
		t.Fatalf("submit: %d", code)
	}
	e.pass()
	crash := func(attempt int) {
		t.Helper()
		if j := e.job(d.ID); j.State != api.StateRunning || j.Attempt != attempt {
			t.Fatalf("%s attempt %d %q; want attempt %d running", j.State, j.Attempt, j.Message, attempt)
		}
		e.report("n1", running(d.ID, 0, attempt))
		e.clock.add(time.Second)
		e.report("n1", exited(d.ID, 0, attempt, 1))
		e.pass()
	}
	crash(1)
	crash(2) // the first crash restarts at once, the second after 10 s
	if j := e.job(d.ID); j.State != api.StatePending || !strings.Contains(j.Message, "in 10s") {
		t.Fatalf("%s attempt %d %q after a second crash in a row; want pending, saying it waits 10s", j.State, j.Attempt, j.Message)
	}
	e = e.restart(true)
	e.clock.add(9 * time.Second)
	e.report("n1")
	e.pass()
	if j := e.job(d.ID); j.State != api.StatePending {
		t.Fatalf("%s attempt %d a second before the back-off ends, after a restart; want pending", j.State, j.Attempt)
	}
	e.clock.add(time.Second)
	e.report("n1")
	e.pass()
	crash(3) // the third, after 20 s
	e.clock.add(19 * time.Second)
	e.report("n1")
	e.pass()
	if j := e.job(d.ID); j.State != api.StatePending || j.Attempt != 3 {
		t.Fatalf("%s attempt %d 19 s after a third crash; want pending (20 s back-off)", j.State, j.Attempt)
	}
	e.clock.add(time.Second)
	e.report("n1")
	e.pass()
	if j := e.job(d.ID); j.State != api.StateRunning || j.Attempt != 4 {
		t.Fatalf("%s attempt %d once the 20 s back-off ended; want attempt 4 running", j.State, j.Attempt)
	}
	// A replica that ran past the crash window ends the row: restarted at once.
	e.report("n1", running(d.ID, 0, 4))
	e.clock.add(11 * time.Minute)
	e.report("n1", exited(d.ID, 0, 4, 1))
	e.pass()
	if j := e.job(d.ID); j.State != api.StateRunning || j.Attempt != 5 {
		t.Fatalf("%s attempt %d after a replica that ran 11 minutes failed; want attempt 5 at once", j.State, j.Attempt)
	}
}
