package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

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

// stopServer runs the loop of e's server and stops it, as SIGTERM does.
func stopServer(e *env) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.s.Run(ctx); err != nil {
		e.t.Fatalf("Run: %v", err)
	}
}

// A graceful stop writes the energy counters integrated since the last
// usage flush (every usageFlushEvery), as it writes the fair-share
// history: a restart lost up to 10 s of every running job's energy,
// cost and carbon.
func TestGracefulStopSavesEnergy(t *testing.T) {
	e := devEnv(t)
	id, run, g := oneGPUJob(e)
	for i := range 9 {
		if i > 0 {
			e.clock.add(time.Second)
		}
		beat(e, run, g, e.clock.now(), 700)
	}
	before := e.job(id).Usage
	stopServer(e)
	after := e.restart(true).job(id).Usage
	if after.ITKWh != before.ITKWh || after.KWh != before.KWh {
		t.Errorf("energy before a graceful restart: %v IT kWh, %v facility kWh; after: %v, %v", before.ITKWh, before.KWh, after.ITKWh, after.KWh)
	}
}

// Heartbeats that reach the server once its loop has stopped (the
// listeners are shut down after it) write the energy they add: no flush
// comes after the stop's.
func TestHeartbeatAfterStopSavesEnergy(t *testing.T) {
	e := devEnv(t)
	id, run, g := oneGPUJob(e)
	beat(e, run, g, e.clock.now(), 700)
	stopServer(e)
	for range 3 {
		e.clock.add(time.Second)
		if code := beat(e, run, g, e.clock.now(), 700); code != 200 {
			t.Fatalf("heartbeat to a stopped server: %d", code)
		}
	}
	before := e.job(id).Usage
	if before.ITKWh == 0 {
		t.Fatal("no energy counted")
	}
	after := e.restart(true).job(id).Usage
	if after.ITKWh != before.ITKWh {
		t.Errorf("energy of heartbeats after the stop: %v IT kWh; after a restart: %v", before.ITKWh, after.ITKWh)
	}
}

// A server stopped (SIGTERM) ends the logs it follows at once, as it
// ends watches and long polls: a 'carnot run -f' or 'carnot logs -f'
// held its graceful shutdown until the HTTP server gave up (5 s), and
// so every restart; the client reconnects to the next server.
func TestStoppedServerEndsFollowedLogs(t *testing.T) {
	e := devEnv(t)
	agentLogs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "before\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a replica that writes nothing more
	}))
	t.Cleanup(agentLogs.Close)
	id := runningWithLogsAt(t, e, agentLogs.URL)
	resp, _ := followAsMember(t, e, id)
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); resp.StatusCode != http.StatusOK || line != "before\n" {
		t.Fatalf("logs: %d, first line %q, %v", resp.StatusCode, line, err)
	}
	stopServer(e)
	ended := make(chan error, 1)
	go func() { _, err := rd.ReadString('\n'); ended <- err }()
	select {
	case <-ended:
	case <-time.After(3 * time.Second):
		resp.Body.Close()
		t.Fatal("a followed log was still open 3 s after the server stopped")
	}
}
