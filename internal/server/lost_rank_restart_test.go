package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A deployment whose replica is kept for a silent node (lost_rank.go),
// and whose other replicas all end, is queued again by its restart
// policy: its next attempt hands out ranks 0..n-1 afresh, so it waits,
// out of the queue, until no replica of the attempt that ended may still
// run, across a restart of the server too. Before, it started at once,
// and the kept replica's rank was held twice for as long as the
// partition lasted. A deployment whose last replica is lost with its
// node waits likewise.
func TestNextAttemptWaitsForAReplicaItsNodeMayRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas int
		fence    bool
	}{
		{"agent reports it stopped", 2, false},
		{"fenced", 2, true},
		{"last replica lost", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, DevFacility("local", "FR"), true)
			for k := 1; k <= 3; k++ {
				e.registerAt("n"+strconv.Itoa(k), "http://10.0.0."+strconv.Itoa(k)+":7070")
			}
			var doc api.Job
			if code := e.do("POST", "/v1/deployments", spec(8, tc.replicas, "restart", "on-failure", "max_retries", 3), &doc); code != http.StatusCreated {
				t.Fatalf("submit deployment: %d", code)
			}
			d := doc.ID
			e.pass()
			for _, r := range e.job(d).Replicas {
				e.report(r.Node, running(d, r.Index, 1))
			}
			silent := silenceReplica(t, e, d, 0)
			if tc.replicas > 1 {
				other := e.job(d).Replicas[1]
				e.report(other.Node, exited(d, 1, 1, 1))
				e.pass()
			}
			j := e.job(d)
			if j.State != api.StatePending || j.Attempt != 1 {
				t.Fatalf("its attempt ended while %s may still run replica 0 (rank 0): %s attempt %d %+v; want pending, attempt 1",
					silent, j.State, j.Attempt, j.Replicas)
			}
			if !strings.Contains(j.Message, silent) {
				t.Errorf("message %q; want it to name %s, which it waits for", j.Message, silent)
			}
			e = e.restart(true)
			e.pass()
			if j := e.job(d); j.State != api.StatePending || j.Attempt != 1 {
				t.Fatalf("after a restart, while %s may still run replica 0: %s attempt %d; want pending, attempt 1", silent, j.State, j.Attempt)
			}
			if tc.fence {
				if code := e.do("POST", "/v1/nodes/"+silent+"/fence", nil, nil); code != 200 {
					t.Fatalf("fence %s: %d", silent, code)
				}
			} else {
				e.report(silent) // back, running nothing
			}
			e.pass()
			j = e.job(d)
			if j.State != api.StateRunning || j.Attempt != 2 {
				t.Fatalf("once %s is clear: %s attempt %d %q; want running, attempt 2", silent, j.State, j.Attempt, j.Message)
			}
			for _, r := range j.Replicas {
				e.report(r.Node, running(d, r.Index, 2))
			}
			checkRanks(t, e, d, tc.replicas)
		})
	}
}

// A replica kept for its silent node that a restart no longer keeps
// (here the server now runs with --stop-after-disconnect; the same when
// the node left the facility file) is replaced at once, and released:
// its GPU time is counted to the restart, not on to the end of the
// attempt, as if its GPUs were still the deployment's.
func TestKeptReplicaNotKeptAfterARestartIsReleased(t *testing.T) {
	e, d := rankEnv(t, 2)
	silent := silenceReplica(t, e, d, 0)
	e.s.store.Close()
	e = openEnv(t, e.dir, e.s.cfg.Facility, true, e.clock, func(c *Config) { c.StopAfterDisconnect = 30 * time.Second })
	e.pass()
	rs := replacements(e, d, 2)
	if len(rs) != 1 || rs[0].Rank != 0 || rs[0].Node == silent {
		t.Fatalf("after a restart that no longer keeps replica 0: replacements %+v; want one, in rank 0, not on %s", rs, silent)
	}
	if r := e.job(d).Replicas[0]; !r.Released {
		t.Errorf("replica 0 after a restart that no longer keeps it: %+v; want released", r)
	}
	live := e.job(d).Replicas[1]
	e.report(live.Node, running(d, live.Index, 1))
	e.report(rs[0].Node, running(d, rs[0].Index, 1))
	e.clock.add(time.Hour)
	e.report(live.Node, running(d, live.Index, 1))
	e.report(rs[0].Node, running(d, rs[0].Index, 1))
	if code := e.do("POST", "/v1/jobs/"+d+"/cancel", nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel: %d", code)
	}
	e.report(live.Node, exited(d, live.Index, 1, 143))
	e.report(rs[0].Node, exited(d, rs[0].Index, 1, 143))
	j := e.job(d)
	if j.State != api.StateCancelled {
		t.Fatalf("after the cancel: %s %q", j.State, j.Message)
	}
	// Replicas 1 and 2 ran about an hour on 8 GPUs each; replica 0 held
	// its 8 for seconds before the restart.
	if max := 8 * (2*3600 + 120.0); j.Usage.GPUSeconds > max {
		t.Errorf("GPU-seconds %.0f; want at most %.0f: replica 0's counted on past its release", j.Usage.GPUSeconds, max)
	}
}
