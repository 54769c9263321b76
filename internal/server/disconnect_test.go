package server

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// disconnectEnv is devEnv's server with StopAfterDisconnect d, and n1
// registered.
func disconnectEnv(t *testing.T, d time.Duration) *env {
	t.Helper()
	e := openDisconnectEnv(t, t.TempDir(), &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}, d)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register n1: %d", code)
	}
	return e
}

// openDisconnectEnv is a server with StopAfterDisconnect d on the store
// in dir (a new one, or one a server before it left).
func openDisconnectEnv(t *testing.T, dir string, clk *clock, d time.Duration) *env {
	t.Helper()
	return openEnv(t, dir, DevFacility("local", "FR"), true, clk, func(c *Config) { c.StopAfterDisconnect = d })
}

// With StopAfterDisconnect, a silent node is not ready at the heartbeat
// timeout but its replicas count as lost, and their job's next attempt
// may start elsewhere, only once its agent has stopped them: the setting
// after its last heartbeat, plus the job's grace, an interval and a
// margin. Agents learn the setting at registration.
func TestSilentNodeLosesItsReplicasOnceItsAgentStopsThem(t *testing.T) {
	e := disconnectEnv(t, 30*time.Second)
	var reg api.Registered
	r := api.Register{Name: "n2", Site: "local", Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256}
	for i := range 8 {
		r.GPUs = append(r.GPUs, api.GPUInfo{Index: i, Model: "H100"})
	}
	if code := e.do("POST", "/v1/agent/register", r, &reg); code != 200 || reg.StopAfterDisconnectSeconds != 30 {
		t.Fatalf("registration: %d %+v, want stop_after_disconnect_seconds 30", code, reg)
	}
	e.report("n2")
	id := e.submit(spec(8, 1, "checkpoint_grace", "20s", "restart", "on-failure", "max_retries", 1))
	e.pass()
	j := e.job(id)
	first := j.Replicas[0].Node
	other := map[string]string{"n1": "n2", "n2": "n1"}[first]
	e.report(first, running(id, 0, 1))
	// lost at the last heartbeat + 30 s + 20 s grace + 1 s interval + 2 s
	lost := 30*time.Second + 20*time.Second + time.Second + disconnectMargin
	for elapsed := 4 * time.Second; ; elapsed += 4 * time.Second {
		e.clock.add(4 * time.Second)
		e.report(other)
		e.pass()
		j = e.job(id)
		if elapsed < lost {
			if j.State != api.StateRunning || j.Replicas[0].State != api.ReplicaRunning || len(e.tasks(other)) != 0 {
				t.Fatalf("%s after %s: %s, replica %s, %d task(s) on %s; want it running on %s until %s",
					first, elapsed, j.State, j.Replicas[0].State, len(e.tasks(other)), other, first, lost)
			}
			if c := e.condition(first); elapsed > 10*time.Second && c != model.NodeUnreachable {
				t.Fatalf("%s silent for %s is %s, want unreachable (not ready, may run its work)", first, elapsed, c)
			}
			continue
		}
		if elapsed >= lost+4*time.Second {
			t.Fatalf("after %s, past %s: still %s on %+v", elapsed, lost, j.State, j.Replicas)
		}
		if j.Attempt != 2 || len(j.Replicas) != 1 || j.Replicas[0].Node != other {
			t.Fatalf("after %s: attempt %d on %+v (%s: %s), want attempt 2 on %s", elapsed, j.Attempt, j.Replicas, j.State, j.Message, other)
		}
		break
	}
	var evs api.EventList
	e.do("GET", "/v1/jobs/"+id+"/events", nil, &evs)
	found := false
	for _, ev := range evs.Events {
		found = found || strings.Contains(ev.Message, "its agent stopped it after 30s without the server")
	}
	if !found {
		t.Errorf("no event says why the replica was lost: %+v", evs.Events)
	}
}

// A node heard from again before its replicas count as lost keeps them:
// its report says what still runs.
func TestNodeBackBeforeItsAgentStoppedItsWork(t *testing.T) {
	e := disconnectEnv(t, 30*time.Second)
	id := silentWithWork(t, e)
	e.clock.add(10 * time.Second)
	e.report("n1", running(id, 0, 1)) // back after 22 s, still running it
	for range 10 {
		e.clock.add(5 * time.Second)
		e.report("n1", running(id, 0, 1))
		e.pass()
	}
	if j := e.job(id); j.State != api.StateRunning || j.Replicas[0].State != api.ReplicaRunning {
		t.Fatalf("after the node came back: %s, replica %s; want running", j.State, j.Replicas[0].State)
	}
}

func TestStopAfterDisconnectBelowTheHeartbeatTimeout(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "carnot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = New(context.Background(), Config{Facility: DevFacility("local", "FR"), Store: db, HeartbeatTimeout: 10 * time.Second,
		StopAfterDisconnect: 5 * time.Second, TokenKey: testTokenKey})
	if err == nil || !strings.Contains(err.Error(), "below the heartbeat timeout") {
		t.Fatalf("New with 5 s under a 10 s timeout: %v", err)
	}
}

// A heartbeat timeout under two heartbeat intervals would take every
// node for silent between two of its heartbeats (or at one late one),
// and lose its work: New refuses it.
func TestHeartbeatTimeoutUnderTwoHeartbeats(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "carnot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = New(context.Background(), Config{Facility: DevFacility("local", "FR"), Store: db, Heartbeat: 5 * time.Second,
		HeartbeatTimeout: 2 * time.Second, TokenKey: testTokenKey})
	if err == nil || !strings.Contains(err.Error(), "heartbeat timeout 2s is under twice the heartbeat interval 5s") {
		t.Fatalf("New with a 2 s timeout of 5 s heartbeats: %v", err)
	}
}

// A server that takes over (a restart, a new leader) while a silent
// node's replicas wait to count as lost still counts them lost: from
// when it read the store, as it cannot know the node's last heartbeat,
// after the setting, the grace, an interval and the margin. The node was
// stored not ready, and the successor had nothing that would ever lose
// them: they stayed running, their GPUs held, until the node came back.
func TestSilentNodeLosesItsReplicasAfterARestart(t *testing.T) {
	e := disconnectEnv(t, 30*time.Second)
	id := silentWithWork(t, e)
	e.s.store.Close()
	e = openDisconnectEnv(t, e.dir, e.clock, 30*time.Second)
	lost := 30*time.Second + 5*time.Second + time.Second + disconnectMargin // from the restart
	for elapsed := 4 * time.Second; ; elapsed += 4 * time.Second {
		e.clock.add(4 * time.Second)
		e.pass()
		j := e.job(id)
		if elapsed < lost {
			if j.State != api.StateRunning || j.Replicas[0].State != api.ReplicaRunning {
				t.Fatalf("%s after the restart: %s, replica %s; want it running until %s", elapsed, j.State, j.Replicas[0].State, lost)
			}
			continue
		}
		if j.Replicas[0].State != api.ReplicaLost || j.State != api.StateFailed {
			t.Fatalf("%s after the restart, past %s: %s, replica %s (%s); want it lost", elapsed, lost, j.State, j.Replicas[0].State, j.Replicas[0].Error)
		}
		break
	}
}

// Every heartbeat's answer carries the stop-after-disconnect: agents
// learn it at registration, which a restarted server (or a new leader)
// configured otherwise does not ask of them again.
func TestHeartbeatCarriesStopAfterDisconnect(t *testing.T) {
	e := devEnv(t) // the setting off
	beat := func(e *env) *float64 {
		var reply api.HeartbeatReply
		if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{}, &reply); code != 200 {
			t.Fatalf("heartbeat: %d", code)
		}
		return reply.StopAfterDisconnectSeconds
	}
	if d := beat(e); d == nil || *d != 0 {
		t.Fatalf("the setting off: the answer carries %v, want 0", d)
	}
	e.s.store.Close()
	e = openDisconnectEnv(t, e.dir, e.clock, 30*time.Second)
	if d := beat(e); d == nil || *d != 30 {
		t.Fatalf("after a restart with 30 s: the answer carries %v, want 30", d)
	}
}

// Every heartbeat's answer carries the site's jurisdictions too: the
// agent checks tasks against them, and a server restarted with the
// site's tags changed is not registered with again.
func TestHeartbeatCarriesTheSitesJurisdictions(t *testing.T) {
	e := devEnv(t)
	e.s.store.Close()
	fac := DevFacility("local", "FR")
	fac.Sites[0].Jurisdictions = append(fac.Sites[0].Jurisdictions, "SEC")
	e = openEnv(t, e.dir, fac, true, e.clock)
	var reply api.HeartbeatReply
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{}, &reply); code != 200 {
		t.Fatalf("heartbeat: %d", code)
	}
	if !slices.Contains(reply.Jurisdictions, "SEC") {
		t.Fatalf("after a restart that gave the site SEC, the answer carries %v", reply.Jurisdictions)
	}
}
