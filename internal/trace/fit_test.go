package trace

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// phillyJobs reads rows of a Philly CSV (without the header) with the
// default options.
func phillyJobs(t *testing.T, rows ...string) []*model.Job {
	t.Helper()
	jobs, err := ReadPhilly("p.csv", strings.NewReader(phillyCSV(rows...)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// TestFitting: a job whose replicas the nodes of its VC cannot all hold
// at once, by GPUs or by CPUs, is left out and counted by VC; a job of
// an unknown VC is kept (KnownTenants drops it).
func TestFitting(t *testing.T) {
	f := HeliosFacility(map[string]int{"a": 1, "b": 4}, 1, FacilityOptions{}) // 8 and 32 GPUs
	jobs := phillyJobs(t,
		"2017-10-01 00:00:00,60,8,480,a",    // philly-1: fits
		"2017-10-01 00:00:01,60,16,960,a",   // philly-2: 2 × 8 on 1 node
		"2017-10-01 00:00:02,60,12,720,a",   // philly-3: 2 × 6 on 1 node
		"2017-10-01 00:00:03,60,32,1920,b",  // philly-4: fits
		"2017-10-01 00:00:04,60,12,720,b",   // philly-5: fits
		"2017-10-01 00:00:05,60,40,2400,b",  // philly-6: 5 × 8 on 4 nodes
		"2017-10-01 00:00:06,60,128,7680,c", // philly-7: unknown VC, kept
	)
	jobs[3].CPUsPerReplica = 200 // no node has 200 CPUs: philly-4 no longer fits
	kept, unfit := Fitting(f, jobs)
	if diff := cmp.Diff([]string{"philly-1", "philly-5", "philly-7"}, ids(kept)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	want := []Unfit{
		{Tenant: "a", Jobs: 2, MaxGPUs: 16, GPUs: 8, OneSite: true, AllGPUs: 8},
		{Tenant: "b", Jobs: 1, MaxGPUs: 40, GPUs: 32, OneSite: true, AllGPUs: 32},
		// by its CPUs: the GPUs would hold it
		{Tenant: "b", Jobs: 1, MaxGPUs: 32, GPUs: 32, OneSite: true, AllGPUs: 32, Resources: true, CPUs: 200, MemGiB: 256, NodeCPUs: 64, NodeMemGiB: 512},
	}
	if diff := cmp.Diff(want, unfit); diff != "" {
		t.Errorf("unfit (-want +got):\n%s", diff)
	}
}

// TestReplayable is the review's case: a 128-GPU job on a VC of 64 GPUs
// never starts. Replayable leaves it out with a note, as it does the
// jobs of a VC without a size, so that a replay does not count it as a
// job that waited.
func TestReplayable(t *testing.T) {
	vcs := map[string]int{"ed69ec": 8, "6214e9": 64}
	f := HeliosFacility(vcs, 1, FacilityOptions{})
	jobs := phillyJobs(t,
		"2017-10-01 00:00:00,3600,128,460800,ed69ec",
		"2017-10-01 00:10:00,3600,1,3600,ed69ec",
		"2017-10-01 00:20:00,3600,1,3600,23dbec",
	)
	now := jobs[len(jobs)-1].SubmitTime
	// Without Replayable the core keeps the wide job waiting for good,
	// saying so, and holds nothing for it (so the VC's next job starts):
	// a replay would count it as never started.
	p := sched.Schedule(&model.Snapshot{Facility: f, Pending: KnownTenants(f, append([]*model.Job(nil), jobs...))}, now)
	if len(p.Pending) != 1 || p.Pending[0].Job != "philly-1" || !strings.Contains(p.Pending[0].Message, "can hold 8 such replica(s) in one site at most") {
		t.Fatalf("without Replayable: pending %+v; want philly-1 waiting for good", p.Pending)
	}
	kept, notes := Replayable(f, jobs, "vc.csv")
	if diff := cmp.Diff([]string{"philly-2"}, ids(kept)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	wantNotes := []string{
		"1 of 3 jobs left out: their VCs (23dbec) have no size in vc.csv",
		"1 of 3 jobs left out: they need more than their VC can ever give them, so they would never start (ed69ec: 1 job of 128 GPUs, the VC has 64)",
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if p := sched.Schedule(&model.Snapshot{Facility: f, Pending: kept}, now); len(p.Starts) != 1 || p.Starts[0].Job != "philly-2" {
		t.Errorf("starts after Replayable %+v, want philly-2", p.Starts)
	}
	if kept, notes := Replayable(f, kept, "vc.csv"); len(kept) != 1 || notes != nil {
		t.Errorf("Replayable of replayable jobs: %d jobs, notes %q; want the job and no note", len(kept), notes)
	}
}
