package server

import (
	"context"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// A node removed from the facility file while it may still run work is
// kept and counted at its GPU model's nameplate (see removed_nodes.go);
// with the model gone from the catalog too there is no nameplate to
// count, and its GPUs would draw in its site's envelope unseen. The
// server refuses to start so, naming the node and what to do, and
// changes nothing: a start with the model back finds the work as it was.
func TestRemovedNodeWhoseModelIsGoneRefusesTheStart(t *testing.T) {
	withA100 := func() *model.Facility {
		f := twoListed()
		f.Nodes[1].GPUModel = "A100"
		return f
	}
	e := newEnv(t, withA100(), false)
	if code := e.register("a1", "a", 8); code != 200 {
		t.Fatalf("register a1: %d", code)
	}
	reg := api.Register{Name: "a2", Site: "a", Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256}
	for i := range 8 {
		reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, Model: "A100"})
	}
	if code := e.do("POST", "/v1/agent/register", reg, nil); code != 200 {
		t.Fatalf("register a2: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/a1/drain", nil, nil); code != 200 {
		t.Fatalf("drain a1: %d", code)
	}
	id := e.submit(spec(8, 1))
	e.pass()
	e.report("a2", running(id, 0, 1))
	e.s.store.Close()

	gone := listedFacility() // a2 out of the file, and A100 out of the catalog
	gone.GPUModels = maps.Clone(gone.GPUModels)
	delete(gone.GPUModels, "A100")
	db, err := sqlite.Open(filepath.Join(e.dir, "carnot.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(context.Background(), Config{Facility: gone, Store: db, Now: e.clock.now,
		Heartbeat: e.s.cfg.Heartbeat, HeartbeatTimeout: e.s.cfg.HeartbeatTimeout, KillTimeout: e.s.cfg.KillTimeout, TokenKey: testTokenKey})
	if err == nil || !strings.Contains(err.Error(), "node a2 (model A100, 8 GPUs, site a)") || !strings.Contains(err.Error(), "carnot fence") {
		t.Fatalf("start without a2's model: %v; want a refusal naming a2, its model and site, and the way out", err)
	}
	db.Close()

	e = openEnv(t, e.dir, withA100(), false, e.clock)
	if j := e.job(id); j.State != api.StateRunning || j.Replicas[0].State != api.ReplicaRunning || j.Replicas[0].Node != "a2" {
		t.Fatalf("job after the refused start: %s, replica %+v; want it running on a2 as before", j.State, j.Replicas[0])
	}
}
