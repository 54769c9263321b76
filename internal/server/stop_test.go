package server

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A server whose loop stopped (SIGTERM) ends the agents' long polls at
// once, as a standby's 503, answers new ones so and is not ready: an HTTP server's
// graceful shutdown waits for them otherwise, and the agents hear of
// the stop only when it gives up (its timeout) or the process exits.
func TestStoppedServerEndsLongPolls(t *testing.T) {
	e := devEnv(t)
	version := e.assignments("n1").Version
	polled := make(chan *http.Response, 1)
	go func() {
		polled <- e.raw("GET", fmt.Sprintf("/v1/agent/nodes/n1/assignments?after=%d&wait=20s", version), nil).Result()
	}()
	for waiting := false; !waiting; { // the poll waits for a change
		e.s.mu.Lock()
		waiting = e.s.nodes["n1"].changed != nil
		e.s.mu.Unlock()
		runtime.Gosched()
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.s.Run(ctx) }()
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r := <-polled; r.StatusCode != http.StatusServiceUnavailable || r.Header.Get(api.StandbyHeader) == "" {
		t.Errorf("long poll held when the server stopped: %d %s=%q, want 503 with the header",
			r.StatusCode, api.StandbyHeader, r.Header.Get(api.StandbyHeader))
	}
	if w := e.raw("GET", "/readyz", nil); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "stopping") {
		t.Errorf("/readyz of a stopped server: %d %s, want 503 saying it is stopping", w.Code, w.Body)
	}
	w := e.raw("GET", fmt.Sprintf("/v1/agent/nodes/n1/assignments?after=%d&wait=20s", version), nil)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get(api.StandbyHeader) == "" {
		t.Errorf("long poll of a stopped server: %d %s=%q, want 503 with the header",
			w.Code, api.StandbyHeader, w.Header().Get(api.StandbyHeader))
	}
}
