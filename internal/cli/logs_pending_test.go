package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// TestLogsFollowWaitsForStart: `carnot logs -f JOB` right after a
// submission failed with "job J has not started yet: no logs" (exit 1)
// when the job waited in the queue, though the server waits for a
// placed replica to start so that such a follow works. A follower of a
// job that has not started waits for it, saying why on stderr as `run
// -f` does, then follows its output to the end.
func TestLogsFollowWaitsForStart(t *testing.T) {
	defer func(d time.Duration) { pollInterval = d }(pollInterval)
	pollInterval = time.Millisecond
	var mu sync.Mutex
	gets := 0
	started := func() bool { return gets > 3 }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		gets++
		j := api.Job{ID: "q", State: api.StatePending, Reason: &api.Reason{Code: "capacity", Message: "capacity: needs 8 H100"}}
		switch {
		case gets > 5:
			j.State, j.Attempt = api.StateSucceeded, 1
			j.Replicas = []api.Replica{{Index: 0, Node: "n1", State: api.ReplicaExited}}
		case started():
			j.State, j.Attempt = api.StateRunning, 1
			j.Replicas = []api.Replica{{Index: 0, Node: "n1", State: api.ReplicaRunning}}
		}
		reply(w, 200, j)
	})
	mux.HandleFunc("GET /v1/jobs/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := started()
		mu.Unlock()
		if !ok {
			problem(w, 404, "job q has not started yet: no logs")
			return
		}
		if r.URL.Query().Get("offset") == "" {
			_, _ = io.WriteString(w, "hello\n")
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, out, errs := carnot("logs", "-f", "q", "--server", srv.URL)
	if code != 0 || out != "hello\n" || !strings.Contains(errs, "q is pending: capacity: needs 8 H100\n") {
		t.Errorf("exit %d, stdout %q, stderr %q; want hello, and why it waited on stderr", code, out, errs)
	}
	// without -f there is nothing to print yet, and it says so
	mu.Lock()
	gets = 0
	mu.Unlock()
	if code, _, errs := carnot("logs", "q", "--server", srv.URL); code != ExitFailure || !strings.Contains(errs, "has not started yet") {
		t.Errorf("without -f: exit %d, stderr %q", code, errs)
	}
}
