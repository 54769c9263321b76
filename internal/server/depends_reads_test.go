package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A submission reads its dependencies that are no longer in memory
// (ended, forgotten once durable) from the store at once, not one read
// each: a job depending on up to 64 finished jobs costs one query, not
// 64 round trips. What that read answers is judged as before: the
// tenant, the outcome (afterok on a failed job is 409, afterany on it is
// met), a job the store does not hold. On SQLite and PostgreSQL.
func TestDependsOnSubmissionReadsDependenciesAtOnce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSubmissionReadsAtOnce(t, devEnv(t)) })
	t.Run("postgres", func(t *testing.T) { testSubmissionReadsAtOnce(t, pgDevEnv(t)) })
}

func testSubmissionReadsAtOnce(t *testing.T, e *env) {
	var done []string
	for round := range 2 {
		var ids []string
		for i := range 8 {
			ids = append(ids, e.submit(spec(1, 1, "id", fmt.Sprintf("a%d", round*8+i))))
		}
		e.pass()
		var ends []api.TaskStatus
		for i, id := range ids {
			code := 0
			if round == 1 && i == 7 {
				code = 1 // a15 fails
			}
			ends = append(ends, exited(id, 0, 1, code))
		}
		e.report("n1", ends...)
		e.pass()
		done = append(done, ids...)
	}
	run := e.submit(spec(1, 1, "id", "run"))
	e.pass()
	e.s.mu.Lock()
	for _, id := range done {
		if e.s.jobs[id] != nil {
			t.Fatalf("%s, ended, still in memory: the test reads nothing from the store", id)
		}
	}
	e.s.mu.Unlock()

	reads := &jobReadsStore{Store: e.s.store}
	e.s.store = reads
	ok := done[:15]
	b := e.submit(spec(1, 1, "id", "b", "depends_on", append(append([]string{}, ok...), run)))
	if n, m := reads.reads.Load(), reads.batches.Load(); n != 0 || m != 1 {
		t.Errorf("the submission read %d jobs one by one and made %d reads of many; want its %d ended dependencies read at once", n, m, len(ok))
	}
	e.wantHeld(b, "dependency: waits for run (running) to succeed")
	for _, c := range []struct {
		deps any
		code int
		msg  string
	}{
		{[]string{"a0", "a15"}, http.StatusConflict, `depends_on: job "a15" failed: this job would never start`},
		{[]string{"a1", "nosuch"}, http.StatusBadRequest, `depends_on: no job "nosuch" of tenant default`},
	} {
		var p api.Problem
		code := e.do("POST", "/v1/jobs", spec(1, 1, "id", "x", "depends_on", c.deps), &p)
		got := p.Detail
		for _, fe := range p.Errors {
			got += "; " + fe.Field + ": " + fe.Message
		}
		if code != c.code || !strings.Contains(got, c.msg) {
			t.Errorf("depends_on %v: %d %q; want %d: %s", c.deps, code, got, c.code, c.msg)
		}
	}
	met := e.submit(spec(1, 1, "id", "met", "depends_on", []string{"a2", "afterany:a15"}))
	if n, m := reads.reads.Load(), reads.batches.Load(); n != 0 || m != 4 {
		t.Errorf("four submissions read %d jobs one by one and made %d reads of many; want one read of many each", n, m)
	}
	e.report("n1", exited(run, 0, 1, 0))
	e.pass()
	e.wantState(b, api.StateRunning, "")
	e.wantState(met, api.StateRunning, "")
}
