package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A submission with depends_on whose answer was lost (saved, not taken
// into memory), retried with its Idempotency-Key once its dependency
// failed: the retry answers the saved job, which is cancelled, not
// queued as if the dependency, no longer in memory, had succeeded.
func TestDependsOnRetriedAfterTheDependencyFailed(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a"))
	e.pass()
	ls := &lostAnswerStore{Store: e.s.store}
	e.s.store = ls
	body, _ := json.Marshal(spec(1, 1, "id", "b", "depends_on", "a"))
	send := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/jobs", bytes.NewReader(body))
		req.Header.Set(api.IdempotencyKeyHeader, "b-1")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		return w
	}
	ls.lose.Store(true)
	if w := send(); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("a submission whose answer was lost: %d %s", w.Code, w.Body)
	}
	ls.lose.Store(false)
	e.report("n1", exited(a, 0, 1, 1))
	e.pass()
	if w := send(); w.Code != http.StatusOK {
		t.Fatalf("the retry: %d %s; want 200 with the saved job", w.Code, w.Body)
	}
	e.pass()
	if j := e.job("b"); j.State != api.StateCancelled || j.Message != "dependency a failed" {
		t.Errorf("b, retried after its dependency failed: %s %q; want cancelled: dependency a failed", j.State, j.Message)
	}
}

// A job whose dependency failed while it was submitted, the server
// stopping before the pass that cancels it, is cancelled after the
// restart (or by a new leader): the dependency, no longer unfinished, is
// read from the store, not taken for succeeded.
func TestDependsOnBrokenAcrossRestart(t *testing.T) {
	e := devEnv(t)
	a := e.submit(spec(1, 1, "id", "a"))
	e.pass()
	e.s.afterDepCheck = func() {
		e.report("n1", exited(a, 0, 1, 1))
		e.pass()
	}
	b := e.submit(spec(1, 1, "id", "b", "depends_on", "a"))
	e.s.afterDepCheck = nil
	e = e.restart(true) // before the pass that cancels b
	e.pass()
	if j := e.job(b); j.State != api.StateCancelled || j.Message != "dependency a failed" {
		t.Errorf("b after a restart, its dependency failed: %s %q; want cancelled: dependency a failed", j.State, j.Message)
	}
}

// A job released by its dependencies joins the queue then, as a job
// whose earliest start came does (Slurm counts its age from when it
// became eligible): one of its tenant queued while it was held goes
// first; it does not get ahead of it by its older submission. So too
// after a restart, its place counted from its dependency's end.
func TestDependsOnReleasedJobQueuesAfterThoseWaiting(t *testing.T) {
	for _, restart := range []bool{false, true} {
		e := devEnv(t)
		a := e.submit(spec(1, 1, "id", "a"))
		b := e.submit(spec(8, 1, "id", "b", "depends_on", "a"))
		e.pass()
		e.clock.add(time.Second)
		c := e.submit(spec(8, 1, "id", "c"))
		e.pass()
		if j := e.job(c); j.State != api.StatePending {
			t.Fatalf("c, 8 GPUs beside a: %s", j.State)
		}
		e.clock.add(time.Minute)
		e.report("n1", exited(a, 0, 1, 0))
		if restart {
			e = e.restart(true)
		}
		e.pass()
		if j := e.job(c); j.State != api.StateRunning {
			t.Errorf("restart %v: c, queued while b was held: %s (%s); want running before b (%s)", restart, j.State, j.Message, e.job(b).State)
		}
	}
}

// A dependency saved but not taken into memory (its submission's answer
// was lost, and not retried yet) is pending, not succeeded: a job
// depending on it waits for it, and it is adopted and runs first.
func TestDependsOnADependencyNotAdopted(t *testing.T) {
	e := devEnv(t)
	ls := &lostAnswerStore{Store: e.s.store}
	e.s.store = ls
	ls.lose.Store(true)
	if code := e.do("POST", "/v1/jobs", spec(1, 1, "id", "a"), nil); code != http.StatusServiceUnavailable {
		t.Fatalf("a submission whose answer was lost: %d", code)
	}
	ls.lose.Store(false)
	b := e.submit(spec(1, 1, "id", "b", "depends_on", "a"))
	e.pass()
	if j := e.job(b); j.State != api.StatePending || j.Reason == nil || j.Reason.Message != "dependency: waits for a (running) to succeed" {
		t.Errorf("b, its dependency saved but not adopted: %s %q; want held for a, running", j.State, j.Message)
	}
}
