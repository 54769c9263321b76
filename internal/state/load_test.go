package state

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

func at(s string) model.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return model.TimeOf(t)
}

func TestLoadExample(t *testing.T) {
	fac, jobs := fixture(t)
	st, err := LoadFile(exampleState, fac, jobs)
	if err != nil {
		t.Fatal(err)
	}
	if st.Now != at("2026-01-05T12:00:00Z") {
		t.Errorf("now = %s", st.Now)
	}
	dirty := make([]model.GPUState, 8)
	dirty[4] = model.GPUState{Dirty: true, LastTenant: "interns"}
	dirty[5] = model.GPUState{Dirty: true, LastTenant: "interns"}
	wantNodes := []model.NodeState{
		{Node: "h100-3", Condition: model.NodeUp, GPUs: dirty},
		{Node: "h100-4", Condition: model.NodeDraining},
	}
	if diff := cmp.Diff(wantNodes, st.Nodes); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
	type run struct {
		Job              string
		Started, Ckpt    model.Time
		Replicas         []model.Placement
		Terminating      bool
		EvictAt          model.Time
		PreemptedFor     string
		Tenant, Priority string
	}
	var got []run
	for _, a := range st.Running {
		got = append(got, run{a.Job.ID, a.Started, a.LastCheckpoint, a.Replicas, a.Terminating, a.EvictAt, a.PreemptedFor, a.Job.Tenant, a.Job.PriorityClass})
	}
	want := []run{
		{Job: "lab-b-pretrain", Started: at("2026-01-05T06:00:00Z"), Ckpt: at("2026-01-05T11:30:00Z"),
			Replicas: []model.Placement{{Node: "h100-1", GPUs: []int{0, 1, 2, 3, 4, 5, 6, 7}}, {Node: "h100-2", GPUs: []int{0, 1, 2, 3, 4, 5, 6, 7}}},
			Tenant:   "lab-b", Priority: "normal"},
		{Job: "lab-a-sft", Started: at("2026-01-05T08:00:00Z"), Replicas: []model.Placement{{Node: "h100-3", GPUs: []int{0, 1, 2, 3}}},
			Tenant: "lab-a", Priority: "high"},
		{Job: "interns-sweep", Started: at("2026-01-05T11:00:00Z"), Replicas: []model.Placement{{Node: "h100-4", GPUs: []int{0, 1, 2, 3}}},
			Tenant: "interns", Priority: "low"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("running (-want +got):\n%s", diff)
	}
	wantPending := []string{"lab-a-finetune", "lab-a-eval", "lab-b-notebook", "lab-a-notebook", "interns-sweep-2", "chat", "prep"}
	if diff := cmp.Diff(wantPending, ids(st.Pending)); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	wantUsage := []model.Usage{
		{Tenant: "lab-a", GPUSeconds: 40 * 3600, AsOf: at("2026-01-05T12:00:00Z")},
		{Tenant: "lab-b", GPUSeconds: 900 * 3600, AsOf: at("2026-01-05T12:00:00Z")},
	}
	if diff := cmp.Diff(wantUsage, st.Usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]model.Time{at("2026-01-05T11:20:00Z")}, st.RecentPreemptions); diff != "" {
		t.Errorf("recent preemptions (-want +got):\n%s", diff)
	}

	snap := &model.Snapshot{Facility: fac, Pending: jobs, Seed: 7}
	st.Apply(snap)
	if len(snap.Running) != 3 || len(snap.Pending) != 7 || len(snap.Nodes) != 2 || len(snap.Usage) != 2 || snap.Seed != 7 || snap.Facility != fac {
		t.Errorf("Apply: %+v", snap)
	}
	if snap.Running[1].Job != jobs[1] {
		t.Error("running allocations must point at the workload's jobs")
	}
}

// TestLoadFeatures covers what the example does not: a partly running
// deployment, a terminating job preempted for another, claims, power
// caps (one raised on lent power), Unix times, usage defaulting to now.
func TestLoadFeatures(t *testing.T) {
	fac, jobs := fixture(t)
	src := lines(
		"now: 1767614400 # 2026-01-05T12:00:00Z",
		"running:",
		"  - job: chat",
		"    started: 2026-01-05T10:00:00Z",
		"    placement: h100-3:7",
		"    power_cap_w: 500",
		"    start_power_cap_w: 300",
		"  - job: lab-b-pretrain",
		"    started: 2026-01-05T06:00:00Z",
		`    placement: ["h100-1:0-7", "h100-2:0-3,4-7"]`,
		"    terminating: true",
		"    evict_at: 2026-01-05T12:10:00Z",
		"    preempted_for: lab-a-finetune",
		"  - {job: prep, started: 2026-01-05T11:00:00Z, placement: [h100-4]}",
		"nodes:",
		"  - {name: h100-3, dirty_gpus: \"4-5\", last_tenant: lab-b, claimed_by: lab-a-finetune}",
		"  - {name: h100-4, condition: down, claimed_gpus: [6], claimed_by: chat}",
		"  - {name: h100-1, down_gpus: \"2,5\"}",
		"usage:",
		"  - {tenant: interns, gpu_hours: 2.5}",
	)
	st, err := Load("s.yaml", []byte(src), fac, jobs)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(st.Pending); !cmp.Equal(got, []string{"lab-a-sft", "interns-sweep", "lab-a-finetune", "lab-a-eval", "lab-b-notebook", "lab-a-notebook", "interns-sweep-2", "chat"}) {
		t.Errorf("pending: %v (the partly running deployment chat must stay pending)", got)
	}
	a := st.Running[1]
	if !a.Terminating || a.EvictAt != at("2026-01-05T12:10:00Z") || a.PreemptedFor != "lab-a-finetune" {
		t.Errorf("terminating allocation: %+v", a)
	}
	if c := st.Running[0].Replicas[0]; c.PowerCapW != 500 || c.StartCapW != 300 || c.Node != "h100-3" || !cmp.Equal(c.GPUs, []int{7}) {
		t.Errorf("chat replica: %+v", c)
	}
	if p := st.Running[2].Replicas[0]; p.Node != "h100-4" || len(p.GPUs) != 0 {
		t.Errorf("CPU-only replica: %+v", p)
	}
	g := st.Nodes[0].GPUs
	if !g[4].Dirty || g[4].LastTenant != "lab-b" || g[4].ClaimedBy != "lab-a-finetune" || g[6] != (model.GPUState{}) {
		t.Errorf("h100-3 GPUs: %+v", g)
	}
	if n := st.Nodes[1]; n.Condition != model.NodeDown || n.GPUs[6].ClaimedBy != "chat" || n.GPUs[6].Dirty {
		t.Errorf("h100-4: %+v", n)
	}
	if g := st.Nodes[2].GPUs; len(g) != 8 || !g[2].Down || !g[5].Down || g[2].Dirty || g[0] != (model.GPUState{}) {
		t.Errorf("h100-1 GPUs: %+v; want 2 and 5 down, nothing else", g)
	}
	if u := st.Usage[0]; u.GPUSeconds != 9000 || u.AsOf != st.Now {
		t.Errorf("usage: %+v", u)
	}
}

func TestLoadEmpty(t *testing.T) {
	fac, jobs := fixture(t)
	for _, src := range []string{"", "# nothing yet\n", "running: []\nnodes:\n"} {
		st, err := Load("s.yaml", []byte(src), fac, jobs)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if len(st.Pending) != len(jobs) || st.Now != 0 || st.Running != nil {
			t.Errorf("%q: %+v", src, st)
		}
	}
}

func TestCheckAt(t *testing.T) {
	fac, jobs := fixture(t)
	src := lines(
		"running:",
		"  - job: lab-a-sft",
		"    started: 2026-01-05T08:00:00Z",
		"    last_checkpoint: 2026-01-05T11:00:00Z",
		"    placement: [h100-3:0-3]",
		"usage: [{tenant: lab-a, gpu_hours: 1, as_of: 2026-01-05T09:00:00Z}]",
		"recent_preemptions: [2026-01-05T07:00:00Z]",
	)
	st, err := Load("s.yaml", []byte(src), fac, jobs)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CheckAt(at("2026-01-05T11:00:00Z")); err != nil {
		t.Fatal(err)
	}
	err = st.CheckAt(at("2026-01-05T08:30:00Z"))
	want := "s.yaml:4: running[0].last_checkpoint: 2026-01-05T11:00:00Z is after the time of the pass (2026-01-05T08:30:00Z); a state describes the past: fix the time, or schedule later (now: or --now)\n" +
		"s.yaml:6: usage[0].as_of: 2026-01-05T09:00:00Z is after the time of the pass (2026-01-05T08:30:00Z); a state describes the past: fix the time, or schedule later (now: or --now)"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Errorf("not an ErrorList of 2: %#v", err)
	}
	// With now: in the file, Load runs the check itself.
	_, err = Load("s.yaml", []byte("now: 2026-01-05T08:30:00Z\n"+src), fac, jobs)
	if err == nil || err.Error() != "s.yaml:5: running[0].last_checkpoint: 2026-01-05T11:00:00Z is after the time of the pass (2026-01-05T08:30:00Z); a state describes the past: fix the time, or schedule later (now: or --now)\n"+
		"s.yaml:7: usage[0].as_of: 2026-01-05T09:00:00Z is after the time of the pass (2026-01-05T08:30:00Z); a state describes the past: fix the time, or schedule later (now: or --now)" {
		t.Errorf("Load with now: got %v", err)
	}
}
