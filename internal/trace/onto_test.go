package trace

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// smallFacility is examples/small.yaml: 32 H100 at one site; tenants
// lab-a (quota 16, and 4 of lab-b's 8), lab-b (8 + 16) and interns (8, class
// low only).
func smallFacility(t *testing.T) *model.Facility {
	t.Helper()
	f, err := facility.LoadFile("../../examples/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// ontoRows are five jobs of VCs a, b and c.
var ontoRows = []string{
	"2017-10-01 00:00:00,60,8,480,a",     // philly-1
	"2017-10-01 00:00:01,60,16,960,b",    // philly-2
	"2017-10-01 00:00:02,60,64,3840,a",   // philly-3: more than the site's 32 GPUs
	"2017-10-01 00:00:03,60,32,1920,a",   // philly-4: more than lab-a's quota of 20 (16, and 4 lab-b lends)
	"2017-10-01 00:00:04,60,1,60,c",      // philly-5
	"2017-10-01 00:00:05,60,32,1920,b",   // philly-6: more than lab-b's quota of 24
	"2017-10-01 00:00:06,60,128,7680,bb", // philly-7: more than the site's 32 GPUs
}

func TestOntoFacility(t *testing.T) {
	f := smallFacility(t)
	jobs := phillyJobs(t, ontoRows...)
	m := Mapping{
		Entries: []MapEntry{
			{VC: "a", Tenant: "lab-a", File: "m.csv", Line: 2, Column: 3},
			{VC: "zz", Tenant: "lab-a", File: "m.csv", Line: 3, Column: 4},
			{VC: "c", Tenant: "lab-b", File: "--map c=lab-b"},
		},
		Default: "lab-b", DefaultFrom: "--default-tenant lab-b",
	}
	kept, notes, err := OntoFacility(f, jobs, m)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		ID, Tenant  string
		Preemptible bool
	}
	var have []got
	for _, j := range kept {
		have = append(have, got{j.ID, j.Tenant, j.Preemptible})
	}
	want := []got{{"philly-1", "lab-a", true}, {"philly-2", "lab-b", true}, {"philly-5", "lab-b", true}}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	wantNotes := []string{
		"3 of 7 jobs go to tenant lab-b (--default-tenant lab-b): those of the VCs not mapped otherwise, b (2 jobs), bb (1 job)",
		"the map names VCs without a job in the trace (or its window), which it ignores: zz (m.csv:3); check their ids",
		"2 of 7 jobs left out: they would never start, as the sites their tenant may use never hold as many GPUs as they need at once (lab-a: 1 job of 64 GPUs, the sites it may use have 32 GPUs; lab-b: 1 job of 128 GPUs, the sites it may use have 32 GPUs)",
		"2 of 7 jobs left out: they would never start, as their tenant's quota (nominal quota, cohort and borrowing limit) never gives it as many GPUs as they need at once: the scheduler would park them (lab-a: 1 job of 32 GPUs, its quota gives at most 20; lab-b: 1 job of 32 GPUs, its quota gives at most 24)",
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}

	// without quotas the quota does not leave jobs out
	f.Policy.Quotas = false
	kept, _, err = OntoFacility(f, phillyJobs(t, ontoRows...), m)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"philly-1", "philly-2", "philly-4", "philly-5", "philly-6"}, ids(kept)); diff != "" {
		t.Errorf("kept without quotas (-want +got):\n%s", diff)
	}
}

// TestOntoFacilityPrefix: a VC goes to tenant Prefix+VC when the
// facility has it, and only then; its own entry comes first.
func TestOntoFacilityPrefix(t *testing.T) {
	f := smallFacility(t)
	jobs := phillyJobs(t, "2017-10-01 00:00:00,60,1,60,a", "2017-10-01 00:00:01,60,1,60,b", "2017-10-01 00:00:02,60,1,60,c")
	m := Mapping{Prefix: "lab-", Entries: []MapEntry{{VC: "b", Tenant: "interns", File: "--map b=interns"}}, Default: "lab-b"}
	for _, j := range jobs {
		j.PriorityClass = "low"
	}
	kept, notes, err := OntoFacility(f, jobs, m)
	if err != nil {
		t.Fatal(err)
	}
	var tenants []string
	for _, j := range kept {
		tenants = append(tenants, j.Tenant)
	}
	if diff := cmp.Diff([]string{"lab-a", "interns", "lab-b"}, tenants); diff != "" {
		t.Errorf("tenants (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1 of 3 jobs go to tenant lab-b (the default tenant): those of the VCs not mapped otherwise, c (1 job)"}, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// TestOntoFacilityErrors: every mistake of a mapping is an error that
// names where it was made (file:line:column: field, or the flag).
func TestOntoFacilityErrors(t *testing.T) {
	fileA := MapEntry{VC: "a", Tenant: "lab-a", File: "m.csv", Line: 2, Column: 3}
	tests := []struct {
		name  string
		m     Mapping
		class string
		want  string
	}{
		{"tenant not in facility", Mapping{Entries: []MapEntry{fileA, {VC: "b", Tenant: "lab-c", File: "m.csv", Line: 3, Column: 4}}},
			"", "m.csv:3:4: tenant: tenant lab-c is not in facility small (its tenants: interns, lab-a, lab-b)"},
		{"tenant in another case", Mapping{Entries: []MapEntry{{VC: "a", Tenant: "Lab-A", File: "--map a=Lab-A"}}},
			"", "--map a=Lab-A: tenant Lab-A is not in facility small (did you mean lab-a? tenant names are case-sensitive)"},
		{"default not in facility", Mapping{Default: "nobody", DefaultFrom: "--default-tenant nobody"},
			"", "--default-tenant nobody: tenant nobody is not in facility small (its tenants: interns, lab-a, lab-b)"},
		{"VC mapped twice", Mapping{Entries: []MapEntry{fileA, {VC: "a", Tenant: "lab-b", File: "--map a=lab-b"}}, Default: "lab-b"},
			"", "--map a=lab-b: VC a is already mapped to lab-a at m.csv:2; keep one mapping per VC"},
		{"VCs unmapped", Mapping{Entries: []MapEntry{{VC: "c", Tenant: "lab-b", File: "--map c=lab-b"}}},
			"", "6 of 7 jobs have no tenant: 3 VCs are not mapped: a (3 jobs), b (2 jobs), bb (1 job); map each to a tenant of the facility (its tenants: interns, lab-a, lab-b), or give a default tenant"},
		{"VCs unmapped with a prefix", Mapping{Prefix: "vc-", Entries: []MapEntry{fileA}},
			"", "4 of 7 jobs have no tenant: 3 VCs are not mapped, and facility small has no tenant vc-<VC> for them: b (2 jobs), bb (1 job), c (1 job); map each to a tenant of the facility (its tenants: interns, lab-a, lab-b), or give a default tenant"},
		{"class not allowed", Mapping{Entries: []MapEntry{fileA, {VC: "c", Tenant: "interns", File: "--map c=interns"}}, Default: "interns", DefaultFrom: "--default-tenant interns"},
			"", "--default-tenant interns: VC b goes to tenant interns, which may not use priority class normal (it may use low); map the VC to another tenant, or give another class\n" +
				"--map c=interns: VC c goes to tenant interns, which may not use priority class normal (it may use low); map the VC to another tenant, or give another class"},
		{"class not in facility", Mapping{Default: "lab-b"},
			"gold", "priority class gold is not in facility small (it has critical, high, normal, low); give one of those"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs := phillyJobs(t, ontoRows...)
			if tt.class != "" {
				for _, j := range jobs {
					j.PriorityClass = tt.class
				}
			}
			kept, notes, err := OntoFacility(smallFacility(t), jobs, tt.m)
			if err == nil || kept != nil || notes != nil {
				t.Fatalf("got %d jobs, notes %q, error %v; want an error", len(kept), notes, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
			var un *UnmappedError
			if strings.HasPrefix(tt.name, "VCs unmapped") != errors.As(err, &un) {
				t.Errorf("errors.As(*UnmappedError) = %v", !strings.HasPrefix(tt.name, "VCs unmapped"))
			}
		})
	}
}

// TestOntoFacilityAgreesWithCore: alone on the empty facility, the
// scheduling core starts every job OntoFacility keeps, and none of those
// it leaves out; those left out for quota it calls hopeless.
func TestOntoFacilityAgreesWithCore(t *testing.T) {
	f := smallFacility(t)
	all := phillyJobs(t, ontoRows...)
	for _, j := range all {
		j.PriorityClass = "low"
	}
	m := Mapping{Entries: []MapEntry{{VC: "a", Tenant: "lab-a"}, {VC: "c", Tenant: "interns"}}, Default: "lab-b"}
	byID := map[string]*model.Job{}
	for _, j := range all {
		byID[j.ID] = j
	}
	kept, _, err := OntoFacility(f, append([]*model.Job(nil), all...), m) // sets every job's tenant
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	for _, j := range kept {
		keep[j.ID] = true
	}
	if len(keep) == 0 || len(keep) == len(all) {
		t.Fatalf("kept %d of %d jobs; the test wants some of each", len(keep), len(all))
	}
	for _, j := range all {
		p := sched.Schedule(&model.Snapshot{Facility: f, Pending: []*model.Job{j}}, j.SubmitTime)
		started := len(p.Starts) == 1
		if started != keep[j.ID] {
			t.Errorf("%s (%d GPUs of %s): the core starts it: %v; OntoFacility keeps it: %v (%+v)", j.ID, j.TotalGPUs(), j.Tenant, started, keep[j.ID], p.Pending)
		}
	}
	for _, id := range []string{"philly-4", "philly-6"} {
		p := sched.Schedule(&model.Snapshot{Facility: f, Pending: []*model.Job{byID[id]}}, byID[id].SubmitTime)
		if len(p.Pending) != 1 || !strings.Contains(p.Pending[0].Message, "even with nothing running") {
			t.Errorf("%s: pending %+v; want the core to call it hopeless for quota", id, p.Pending)
		}
	}
}

// TestOntoFacilityNamesCPUsAndMemory: a job whose replicas ask for more
// CPUs than a node has (carnot workload philly --cpus-per-gpu 20: 160
// CPUs for 8 GPUs, where small's nodes have 112) was left out with the
// note that the sites "never hold as many GPUs as they need at once
// (lab-a: 2 jobs of up to 16 GPUs, the sites it may use have 32 GPUs)",
// which contradicts itself and hides the cause. The note now names the
// CPUs and memory; a job left out for its GPUs keeps its own note, and
// one that accepts only some of the sites' GPU models is told how many
// of those there are (it was told "have 40 GPUs" for its 40).
func TestOntoFacilityNamesCPUsAndMemory(t *testing.T) {
	f := smallFacility(t)
	jobs, err := ReadPhilly("p.csv", strings.NewReader(phillyCSV(
		"2017-10-01 00:00:00,60,4,240,a",   // philly-1: 80 CPUs, fits
		"2017-10-01 00:00:01,60,8,480,a",   // philly-2: 160 CPUs on a node of 112
		"2017-10-01 00:00:02,60,16,960,a",  // philly-3: 2 × 160 CPUs
		"2017-10-01 00:00:03,60,64,3840,a", // philly-4: more than the site's 32 GPUs
	)), Options{CPUsPerGPU: 20})
	if err != nil {
		t.Fatal(err)
	}
	kept, notes, err := OntoFacility(f, jobs, Mapping{Default: "lab-b"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"philly-1"}, ids(kept)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	want := []string{
		"1 of 4 jobs left out: they would never start, as the sites their tenant may use never hold as many GPUs as they need at once (lab-b: 1 job of 64 GPUs, the sites it may use have 32 GPUs)",
		"2 of 4 jobs left out: they would never start, as the nodes of their tenant's sites have GPUs enough for them but never hold all their replicas at once with the CPUs and memory each asks for (lab-b: 2 jobs of up to 16 GPUs, a replica asks for up to 160 CPUs and 256 GiB, the nodes with its GPUs have at most 112 CPUs and 2048 GiB)",
	}
	if diff := cmp.Diff(want, notes[1:]); diff != "" {
		t.Errorf("notes after the default tenant's (-want +got):\n%s", diff)
	}

	// a node of another model: 40 GPUs at the site, 32 of them H100
	f.Nodes = append(f.Nodes, model.Node{Name: "a100-1", Site: "par1", GPUModel: "A100", GPUs: 8, CPUs: 112, MemoryGiB: 2048})
	jobs, err = ReadPhilly("p.csv", strings.NewReader(phillyCSV("2017-10-01 00:00:00,60,40,2400,a")), Options{GPUModels: []string{"H100"}})
	if err != nil {
		t.Fatal(err)
	}
	_, notes, err = OntoFacility(f, jobs, Mapping{Default: "lab-b"})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"1 of 1 jobs left out: they would never start, as the sites their tenant may use never hold as many GPUs as they need at once (lab-b: 1 job of 40 GPUs, the sites it may use have at most 32 GPUs of one model they accept in one site, 40 in all)"}
	if diff := cmp.Diff(want, notes[1:]); diff != "" {
		t.Errorf("a job of one model: notes after the default tenant's (-want +got):\n%s", diff)
	}
}
