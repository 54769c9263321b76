package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
)

// uuidsOf are the UUIDs registerUUIDs gives node's n GPUs.
func uuidsOf(node string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("GPU-%08x-1111-2222-3333-%012x", len(node)*1000+i, i*7919)
	}
	return out
}

// registerUUIDs registers a node with n fake H100s that have the UUIDs
// uuidsOf(name, n).
func (e *env) registerUUIDs(name, site string, n int, tasks ...api.TaskStatus) {
	e.t.Helper()
	reg := api.Register{Name: name, Site: site, Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256, Tasks: tasks}
	for i, u := range uuidsOf(name, n) {
		reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, UUID: u, Model: "H100"})
	}
	if code := e.do("POST", "/v1/agent/register", reg, nil); code != http.StatusOK {
		e.t.Fatalf("register %s with UUIDs: %d", name, code)
	}
}

// The variables that tell CUDA a task's GPUs: the UUIDs of exactly its
// GPUs, in its order, when the node has them; else the indices in PCI
// bus order (replacing the job's CUDA_DEVICE_ORDER, which would make
// them name other GPUs).
func TestSetVisibleDevices(t *testing.T) {
	uuids := []string{"GPU-aaaaaaaa-0000-0000-0000-000000000000", "GPU-bbbbbbbb-0000-0000-0000-000000000000",
		"MIG-cccccccc-0000-0000-0000-000000000000", "GPU-dddddddd-0000-0000-0000-000000000000"}
	for _, c := range []struct {
		name  string
		gpus  []int
		uuids []string
		job   map[string]string
		want  map[string]string
	}{
		{"uuids", []int{3, 1}, uuids, nil,
			map[string]string{"CUDA_VISIBLE_DEVICES": uuids[3] + "," + uuids[1]}},
		{"uuids keep the job's order", []int{0}, uuids, map[string]string{"CUDA_DEVICE_ORDER": "FASTEST_FIRST"},
			map[string]string{"CUDA_VISIBLE_DEVICES": uuids[0], "CUDA_DEVICE_ORDER": "FASTEST_FIRST"}},
		{"no uuids", []int{2, 3}, nil, nil,
			map[string]string{"CUDA_VISIBLE_DEVICES": "2,3", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}},
		{"no uuids, the job's order replaced", []int{0}, nil, map[string]string{"CUDA_DEVICE_ORDER": "FASTEST_FIRST"},
			map[string]string{"CUDA_VISIBLE_DEVICES": "0", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}},
		{"an index past the uuids", []int{1, 4}, uuids, nil,
			map[string]string{"CUDA_VISIBLE_DEVICES": "1,4", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}},
		{"no GPUs", nil, uuids, nil, map[string]string{"CUDA_VISIBLE_DEVICES": ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range c.job {
				env[k] = v
			}
			setVisibleDevices(env, c.gpus, c.uuids)
			if diff := cmp.Diff(c.want, env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

// A node registered with its GPUs' UUIDs shows them, and each task on it
// gets the UUIDs of exactly the GPUs it holds; they survive a restart of
// the server.
func TestTasksGetTheirGPUsUUIDs(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	e.registerUUIDs("n1", "local", 8)
	uuids := uuidsOf("n1", 8)
	var n api.Node
	if code := e.do("GET", "/v1/nodes/n1", nil, &n); code != 200 || !slices.Equal(n.GPUUUIDs, uuids) {
		t.Fatalf("GET /v1/nodes/n1: %d, gpu_uuids %v; want %v", code, n.GPUUUIDs, uuids)
	}
	id := e.submit(spec(3, 2, "env", map[string]string{"CUDA_DEVICE_ORDER": "FASTEST_FIRST"}))
	e.pass()
	check := func(e *env) {
		t.Helper()
		tasks := e.tasks("n1")
		if len(tasks) != 2 {
			t.Fatalf("%d tasks, want 2", len(tasks))
		}
		seen := map[string]bool{}
		for _, tk := range tasks {
			var want []string
			for _, g := range tk.GPUs {
				want = append(want, uuids[g])
			}
			if got := tk.Env["CUDA_VISIBLE_DEVICES"]; got != strings.Join(want, ",") || len(want) != 3 {
				t.Errorf("replica %d on GPUs %v: CUDA_VISIBLE_DEVICES=%q, want %q", tk.Replica, tk.GPUs, got, strings.Join(want, ","))
			}
			if got := tk.Env["CUDA_DEVICE_ORDER"]; got != "FASTEST_FIRST" {
				t.Errorf("replica %d: CUDA_DEVICE_ORDER=%q, want the job's FASTEST_FIRST (UUIDs need no order)", tk.Replica, got)
			}
			for _, u := range want {
				if seen[u] {
					t.Errorf("GPU %s given to both replicas", u)
				}
				seen[u] = true
			}
		}
	}
	check(e)
	e.report("n1", running(id, 0, 1), running(id, 1, 1))
	check(e.restart(true))
}

// A node whose agent reports no UUIDs, or that a server reloads from a
// store written before nodes kept them, gets indices in PCI bus order;
// its agent registering again with UUIDs brings them.
func TestTasksGetIndicesWithoutUUIDs(t *testing.T) {
	e := devEnv(t) // n1 registers 8 GPUs without UUIDs
	id := e.submit(spec(2, 1))
	e.pass()
	tk := e.tasks("n1")[0]
	if got, want := tk.Env["CUDA_VISIBLE_DEVICES"], fmt.Sprintf("%d,%d", tk.GPUs[0], tk.GPUs[1]); got != want || tk.Env["CUDA_DEVICE_ORDER"] != "PCI_BUS_ID" {
		t.Errorf("without UUIDs: CUDA_VISIBLE_DEVICES=%q CUDA_DEVICE_ORDER=%q, want %q and PCI_BUS_ID", got, tk.Env["CUDA_DEVICE_ORDER"], want)
	}
	e.report("n1", running(id, 0, 1))

	// The store holds n1 as a server before gpu_uuids wrote it: its
	// document has no such key. The reloaded server keeps the indices.
	e2 := e.restart(true)
	tk = e2.tasks("n1")[0]
	if tk.Env["CUDA_DEVICE_ORDER"] != "PCI_BUS_ID" || strings.HasPrefix(tk.Env["CUDA_VISIBLE_DEVICES"], "GPU-") {
		t.Errorf("reloaded node without UUIDs: %v", tk.Env)
	}
	// Its agent, upgraded, registers again with UUIDs: the next job's
	// task gets them.
	e2.registerUUIDs("n1", "local", 8, running(id, 0, 1))
	next := e2.submit(spec(2, 1))
	e2.pass()
	for _, tk := range e2.tasks("n1") {
		if tk.Job != next {
			continue
		}
		uuids := uuidsOf("n1", 8)
		want := uuids[tk.GPUs[0]] + "," + uuids[tk.GPUs[1]]
		if got := tk.Env["CUDA_VISIBLE_DEVICES"]; got != want || tk.Env["CUDA_DEVICE_ORDER"] != "" {
			t.Errorf("after registering UUIDs: CUDA_VISIBLE_DEVICES=%q CUDA_DEVICE_ORDER=%q, want %q and none", got, tk.Env["CUDA_DEVICE_ORDER"], want)
		}
		return
	}
	t.Errorf("job %s has no task on n1: %+v", next, e2.tasks("n1"))
}

// A registration's UUIDs are every GPU's or none, distinct, and nothing
// that would break the list CUDA reads; each error names its field.
func TestRegisterChecksUUIDs(t *testing.T) {
	e := devEnv(t)
	u := uuidsOf("x", 3)
	for _, c := range []struct {
		name  string
		uuids []string
		field string
	}{
		{"one missing", []string{u[0], "", u[2]}, "gpus[1].uuid"},
		{"twice", []string{u[0], u[1], u[0]}, "gpus[2].uuid"},
		{"a comma", []string{u[0], u[1] + "," + u[2], u[2]}, "gpus[1].uuid"},
		{"a space", []string{" " + u[0], u[1], u[2]}, "gpus[0].uuid"},
		{"too long", []string{u[0], u[1], "GPU-" + strings.Repeat("a", 93)}, "gpus[2].uuid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := api.Register{Name: "x", Site: "local", CPUs: 8, MemoryGiB: 64}
			for i, id := range c.uuids {
				reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, UUID: id, Model: "H100"})
			}
			var p api.Problem
			if code := e.do("POST", "/v1/agent/register", reg, &p); code != http.StatusBadRequest {
				t.Fatalf("registration with UUIDs %q: %d, want 400", c.uuids, code)
			}
			if len(p.Errors) != 1 || p.Errors[0].Field != c.field {
				t.Errorf("errors %+v, want one on %s", p.Errors, c.field)
			}
		})
	}
	reg := api.Register{Name: "x", Site: "local", CPUs: 8, MemoryGiB: 64,
		GPUs: []api.GPUInfo{{Index: 0, UUID: "MIG-GPU-5a9d3a1e-8f4e-b3c2-1d3a-7e9f0b2c4d6e/1/0", Model: "H100"}}}
	if code := e.do("POST", "/v1/agent/register", reg, nil); code != http.StatusOK {
		t.Errorf("a MIG UUID of the older form: %d, want 200", code)
	}
}
