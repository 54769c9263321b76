package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A long-running deployment whose replica ends over and over (here with
// code 0, each replaced at once) keeps a bounded record: its live
// replicas and its last api.MaxReplacedReplicas replaced ones (before,
// every replacement stayed for the whole attempt, the record growing
// without bound and rewritten whole at every change). Reports, tasks
// and logs still find the replicas by their index.
func TestReplacedReplicasAreBounded(t *testing.T) {
	e := devEnv(t)
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(1, 2), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1))
	const cycles = 3 * api.MaxReplacedReplicas
	last := 1
	for range cycles {
		e.clock.add(crashWindow) // each ran long enough to be replaced at once
		e.report("n1", running(d.ID, 0, 1), exited(d.ID, last, 1, 0))
		e.pass()
		rs := e.job(d.ID).Replicas
		last = rs[len(rs)-1].Index
		e.report("n1", running(d.ID, 0, 1), running(d.ID, last, 1))
	}
	j := e.job(d.ID)
	if last != cycles+1 {
		t.Fatalf("the last replica has index %d after %d replacements; want %d", last, cycles, cycles+1)
	}
	if n := len(j.Replicas); n > 2+api.MaxReplacedReplicas {
		t.Fatalf("%d replicas in the record after %d replacements; want at most %d (2 live, %d replaced)",
			n, cycles, 2+api.MaxReplacedReplicas, api.MaxReplacedReplicas)
	}
	if r := j.Replicas[0]; r.Index != 0 || r.State != api.ReplicaRunning {
		t.Fatalf("first replica %+v; want replica 0, running", r)
	}
	for k := 1; k < len(j.Replicas); k++ {
		if j.Replicas[k].Index <= j.Replicas[k-1].Index {
			t.Fatalf("indices out of order: %+v", j.Replicas)
		}
	}
	// Its task and its report go by its index.
	var got []int
	for _, tk := range e.tasks("n1") {
		got = append(got, tk.Replica)
		if tk.Env["CARNOT_REPLICA"] != strconv.Itoa(tk.Replica) {
			t.Errorf("task of replica %d has CARNOT_REPLICA=%q", tk.Replica, tk.Env["CARNOT_REPLICA"])
		}
	}
	if len(got) != 2 || got[0] != 0 || got[1] != last {
		t.Fatalf("n1's tasks are of replicas %v; want [0 %d]", got, last)
	}
	e.report("n1", running(d.ID, 0, 1), exited(d.ID, last, 1, 3))
	j = e.job(d.ID)
	for _, r := range j.Replicas {
		if r.Index == last && (r.State != api.ReplicaExited || r.ExitCode == nil || *r.ExitCode != 3) {
			t.Errorf("replica %d after its report of code 3: %+v", last, r)
		}
	}
	// Its replacement crashes too: it backs off, found by its index
	// when the back-off ends.
	e.pass()
	rs := e.job(d.ID).Replicas
	crash := rs[len(rs)-1].Index
	if crash != last+1 {
		t.Fatalf("replicas %+v; want replica %d replaced at once", rs, last)
	}
	e.report("n1", running(d.ID, 0, 1), running(d.ID, crash, 1))
	e.report("n1", running(d.ID, 0, 1), exited(d.ID, crash, 1, 3))
	e.pass()
	if rs := e.job(d.ID).Replicas; rs[len(rs)-1].Index != crash || rs[len(rs)-1].ReplaceAt == nil {
		t.Fatalf("replicas %+v; want replica %d backing off", rs, crash)
	}
	e.clock.add(10 * time.Second)
	e.report("n1", running(d.ID, 0, 1))
	e.pass()
	if rs := e.job(d.ID).Replicas; rs[len(rs)-1].Index != crash+1 || rs[len(rs)-1].Rank != 1 {
		t.Fatalf("replicas %+v after the back-off; want replica %d in rank 1", rs, crash+1)
	}
	j = e.job(d.ID)
	// A replica dropped from the record has no logs the server can find.
	w := e.raw("GET", "/v1/jobs/"+d.ID+"/logs?replica=2", nil)
	if w.Code != http.StatusNotFound {
		t.Errorf("logs of dropped replica 2: %d %s; want 404", w.Code, w.Body.String())
	}
	// A restart keeps the record as it is.
	n := len(j.Replicas)
	e = e.restart(true)
	if j := e.job(d.ID); len(j.Replicas) != n || j.State != api.StateRunning {
		t.Fatalf("after a restart: %s with %d replicas; want running with %d", j.State, len(j.Replicas), n)
	}
}

// What the server keeps in memory per replica of an attempt (when it
// last heard it running) goes with the
// replica once a running deployment replaced it: a deployment whose
// replicas end again and again for months does not grow it.
func TestReplacedReplicasLeaveNoMemory(t *testing.T) {
	e := devEnv(t)
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(1, 2), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1))
	last := 1
	const cycles = 3 * api.MaxReplacedReplicas
	for range cycles {
		e.clock.add(crashWindow) // each ran long enough to be replaced at once
		e.report("n1", running(d.ID, 0, 1), exited(d.ID, last, 1, 0))
		e.pass()
		rs := e.job(d.ID).Replicas
		last = rs[len(rs)-1].Index
		e.report("n1", running(d.ID, 0, 1), running(d.ID, last, 1))
	}
	if last != cycles+1 {
		t.Fatalf("the last replica has index %d after %d replacements; want %d", last, cycles, cycles+1)
	}
	e.s.mu.Lock()
	heard := len(e.s.jobs[d.ID].lastHeard)
	e.s.mu.Unlock()
	if heard > 2 {
		t.Errorf("memory holds %d replicas' last reports; want those of the 2 live ones", heard)
	}
}

// carnot_placements_total counts every replica the scheduler placed: a
// running deployment's replacements and scale-ups too (before, only an
// attempt's start counted, so a deployment that replaced its replicas
// a thousand times counted its first placement only).
func TestPlacementsCountReplacements(t *testing.T) {
	e := devEnv(t)
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(1, 2), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1))
	e.report("n1", running(d.ID, 0, 1), exited(d.ID, 1, 1, 0))
	e.pass()
	if n := len(e.job(d.ID).Replicas); n != 3 {
		t.Fatalf("%d replicas; want a replacement", n)
	}
	if !strings.Contains(e.scrape(), "\ncarnot_placements_total 3\n") {
		t.Errorf("/metrics: %q; want carnot_placements_total 3: 2 started, 1 replacement", grepLines(e.scrape(), "carnot_placements_total"))
	}
}

func grepLines(s, sub string) []string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return out
}

// An earlier attempt's record of where its replicas ran is as bounded
// as the attempt's record: a deployment restarted after thousands of
// replacements keeps the nodes of the replicas its record kept, by
// index, not an entry for every replica it ever had (before, one ""
// for each replica dropped from the record).
func TestPastAttemptOfABoundedRecordIsBounded(t *testing.T) {
	e := devEnv(t)
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(1, 2, "restart", "on-failure", "max_retries", 1), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	e.report("n1", running(d.ID, 0, 1), running(d.ID, 1, 1))
	last := 1
	for range 3 * api.MaxReplacedReplicas {
		e.report("n1", running(d.ID, 0, 1), exited(d.ID, last, 1, 0))
		e.pass()
		rs := e.job(d.ID).Replicas
		last = rs[len(rs)-1].Index
		e.report("n1", running(d.ID, 0, 1), running(d.ID, last, 1))
	}
	e.report("n1", exited(d.ID, 0, 1, 1), exited(d.ID, last, 1, 1)) // the attempt fails: a restart
	e.clock.add(time.Minute)                                        // after its crash back-off
	e.report("n1")
	e.pass()
	j := e.job(d.ID)
	if j.Attempt != 2 || len(j.PastAttempts) != 1 {
		t.Fatalf("attempt %d, past attempts %+v; want the second attempt", j.Attempt, j.PastAttempts)
	}
	if n := len(j.PastAttempts[0].Nodes); n > 2+api.MaxReplacedReplicas {
		t.Errorf("the first attempt's nodes: %d entries; want at most %d, as its record", n, 2+api.MaxReplacedReplicas)
	}
	// Its kept replicas' logs are still found on their node (the test's
	// agent address serves nothing: 503, not 404).
	for _, idx := range []int{0, last} {
		w := e.raw("GET", "/v1/jobs/"+d.ID+"/logs?attempt=1&replica="+strconv.Itoa(idx), nil)
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "n1") {
			t.Errorf("logs of replica %d of attempt 1: %d %s; want its node n1 asked", idx, w.Code, w.Body.String())
		}
	}
}
