package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

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
