package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// fullNode is a node with every field set.
func fullNode(name string) *api.Node {
	cest := time.FixedZone("CEST", 2*3600)
	return &api.Node{
		Name: name, Site: "fra1", Address: "http://" + name + ":7070",
		CPUs: 224, MemoryGiB: 2048, GPUModel: "H200", GPUs: 8, GPUsUsed: 4,
		GPUUUIDs: []string{"GPU-5a9d3a1e-8f4e-b3c2-1d3a-7e9f0b2c4d6e", "GPU-0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5",
			"GPU-11111111-2222-3333-4444-555555555555", "GPU-66666666-7777-8888-9999-aaaaaaaaaaaa",
			"GPU-bbbbbbbb-cccc-dddd-eeee-ffffffffffff", "GPU-01234567-89ab-cdef-0123-456789abcdef",
			"GPU-fedcba98-7654-3210-fedc-ba9876543210", "GPU-a1b2c3d4-e5f6-a7b8-c9d0-e1f2a3b4c5d6"},
		Condition: api.NodeReady, FakeGPUs: true,
		Registered:    at(-time.Hour).In(cest),
		LastHeartbeat: at(time.Second),
		Telemetry: []api.GPUSample{
			{Index: 0, Time: at(time.Second).In(cest), PowerW: 612.5, Utilization: 97, MemUsedMiB: 120000, TempC: 71},
			{Index: 1, Time: at(time.Second), PowerW: 80.25},
		},
		Jobs: []string{"job-1", "job-2"},
	}
}

func testNodes(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	nodes, err := s.Nodes(ctx)
	if err != nil || len(nodes) != 0 {
		t.Fatalf("Nodes of an empty store = %v, %v; want none", nodes, err)
	}
	n1, n2, n3 := fullNode("n1"), &api.Node{Name: "n2", Condition: api.NodeNotReady}, fullNode("gpu-10")
	for _, n := range []*api.Node{n2, n1, n3} {
		if err := s.PutNode(ctx, n); err != nil {
			t.Fatalf("PutNode(%s): %v", n.Name, err)
		}
	}
	check := func(want ...*api.Node) {
		t.Helper()
		got, err := s.Nodes(ctx)
		if err != nil {
			t.Fatalf("Nodes: %v", err)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Nodes (-want +got):\n%s", diff)
		}
	}
	check(n3, n1, n2)

	// Replacing a node keeps one node of that name, with the new value.
	n1b := fullNode("n1")
	n1b.Condition, n1b.Drained, n1b.Fenced, n1b.Telemetry, n1b.Jobs = api.NodeDraining, true, true, nil, nil
	if err := s.PutNode(ctx, n1b); err != nil {
		t.Fatalf("PutNode(n1 again): %v", err)
	}
	check(n3, n1b, n2)
}

// testUpdateNodes: Update writes nodes with jobs and events in one
// transaction: when a job is missing, neither the node nor the event is
// written.
func testUpdateNodes(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	ev := []api.Event{{Time: at(0), Node: "n1", Type: api.EventNode, Message: "node n1 drained", Actor: "token:ops"}}
	if err := s.Update(ctx, nil, ev, &api.Node{Name: "n1", Site: "s", Drained: true}); err != nil {
		t.Fatal(err)
	}
	nodes, err := s.Nodes(ctx)
	if err != nil || len(nodes) != 1 || !nodes[0].Drained {
		t.Fatalf("nodes after Update = %+v, %v; want n1 drained", nodes, err)
	}
	bad := []api.Event{{Time: at(1), Node: "n2", Type: api.EventNode, Message: "n2 joined"}}
	err = s.Update(ctx, []*api.Job{newJob("missing", "a", 1)}, bad, &api.Node{Name: "n2", Site: "s"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Update with a missing job: %v, want ErrNotFound", err)
	}
	nodes, _ = s.Nodes(ctx)
	evs, _ := s.Events(ctx, store.EventFilter{})
	if len(nodes) != 1 || len(evs) != 1 {
		t.Errorf("after a failed Update: %d nodes, %d events; want the first node and event only", len(nodes), len(evs))
	}
	if err := s.Update(ctx, nil, nil, &api.Node{}); err == nil {
		t.Errorf("Update with a node without a name succeeded")
	}
}

// testForgetNodes: ForgetNodes deletes nodes and appends events in one
// transaction; a node absent is no error; a name that cannot be stored
// is refused, and nothing is written.
func testForgetNodes(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	open := newDB(t)
	s := openStore(t, open)
	for _, n := range []*api.Node{fullNode("n1"), fullNode("n2"), fullNode("n3")} {
		if err := s.PutNode(ctx, n); err != nil {
			t.Fatalf("PutNode(%s): %v", n.Name, err)
		}
	}
	evs := []api.Event{{Time: at(0), Node: "n1", Type: api.EventNode, Message: "node n1 removed", Actor: "server:config"},
		{Time: at(0), Node: "n3", Type: api.EventNode, Message: "node n3 removed", Actor: "server:config"}}
	if err := s.ForgetNodes(ctx, []string{"n1", "absent", "n3"}, evs); err != nil {
		t.Fatalf("ForgetNodes: %v", err)
	}
	if evs[0].Seq == 0 || evs[1].Seq <= evs[0].Seq {
		t.Errorf("events' Seq %d, %d; want them given in order", evs[0].Seq, evs[1].Seq)
	}
	names := func(s store.Store) []string {
		t.Helper()
		nodes, err := s.Nodes(ctx)
		if err != nil {
			t.Fatalf("Nodes: %v", err)
		}
		var out []string
		for _, n := range nodes {
			out = append(out, n.Name)
		}
		return out
	}
	if got := names(s); !cmp.Equal(got, []string{"n2"}) {
		t.Errorf("nodes after forgetting n1 and n3: %v; want [n2]", got)
	}
	for _, bad := range [][]string{{""}, {"n2", "bad\x00name"}} {
		err := s.ForgetNodes(ctx, bad, []api.Event{{Time: at(1), Type: api.EventNode, Message: "x"}})
		if err == nil {
			t.Errorf("ForgetNodes(%q) succeeded; want an error", bad)
		}
	}
	if got := names(s); !cmp.Equal(got, []string{"n2"}) {
		t.Errorf("nodes after refused ForgetNodes: %v; want [n2]", got)
	}
	if all, err := s.Events(ctx, store.EventFilter{}); err != nil || len(all) != 2 {
		t.Errorf("events: %d, %v; want the 2 of the first call only", len(all), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := names(openStore(t, open)); !cmp.Equal(got, []string{"n2"}) {
		t.Errorf("nodes after a reopen: %v; want [n2]", got)
	}
}
