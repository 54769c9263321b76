package server

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// GPUs a preemption victim freed are claimed for the job it was
// preempted for until that job starts, across a restart of the server
// too. Without the claim, a job of another tenant at the same priority,
// first by fair share, took the GPUs the preemption had freed, and the
// victim's work was lost for nothing.
func TestClaimsOutliveARestart(t *testing.T) {
	e := newEnv(t, withTenant(true), true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	victim := e.submit(spec(8, 1, "priority_class", "low", "checkpoint_grace", "60s"))
	e.pass()
	e.report("n1", running(victim, 0, 1))
	e.clock.add(time.Hour) // the default tenant's usage: acme comes first by fair share
	e.report("n1", running(victim, 0, 1))
	boss := e.submit(spec(8, 1, "priority_class", "high"))
	e.pass()
	if j := e.job(victim); j.State != api.StatePreempting {
		t.Fatalf("victim %s; want preempting for %s (%s)", j.State, boss, e.job(boss).Message)
	}
	other := e.submit(spec(8, 1, "priority_class", "high", "tenant", "acme"))
	e.pass()
	e.report("n1", exited(victim, 0, 1, 143))
	e = e.restart(true)
	e = e.restart(true) // what the first restart read, it keeps
	e.s.mu.Lock()
	by := e.s.nodes["n1"].gpus[0].ClaimedBy
	e.s.mu.Unlock()
	if by != boss {
		t.Errorf("n1's GPU 0 claimed by %q after a restart; want %s, which preempted the job that held it", by, boss)
	}
	e.pass()
	if j := e.job(boss); j.State != api.StateRunning {
		t.Errorf("beneficiary after a restart: %s %q; want running on the GPUs its victim freed", j.State, j.Message)
	}
	if j := e.job(other); j.State != api.StatePending {
		t.Errorf("acme's job: %s %q; want pending", j.State, j.Message)
	}
	e.s.mu.Lock()
	by = e.s.nodes["n1"].gpus[0].ClaimedBy
	e.s.mu.Unlock()
	if by != "" {
		t.Errorf("n1's GPU 0 claimed by %q once its beneficiary started; want no claim", by)
	}
}
