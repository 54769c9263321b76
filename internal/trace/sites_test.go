package trace

import (
	"bytes"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// twoSites is a facility of two French sites of two 8-GPU H100 nodes
// each, open to its one tenant: 32 GPUs in all, 16 in either site.
const twoSites = `name: two
sites:
  - id: par1
    country: FR
    operator: Example Compute SAS
    power_envelope_kw: 100
    pue: 1.3
    halls:
      - id: h1
        racks:
          - id: r1
            nodes:
              - {names: "a-[1-2]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 1000, leaf: la, spine: sa}
  - id: par2
    country: FR
    operator: Example Compute SAS
    power_envelope_kw: 100
    pue: 1.3
    halls:
      - id: h1
        racks:
          - id: r1
            nodes:
              - {names: "b-[1-2]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 1000, leaf: lb, spine: sb}
cohorts:
  - name: all
tenants:
  - name: lab-a
    cohort: all
    jurisdictions: [FR]
    quota:
      H100: {nominal: 32}
`

// TestOntoFacilityKeepsGangsToOneSite: a trace's gang has topology site,
// which keeps it in one site, but OntoFacility counted the GPUs of all
// its tenant's sites: a 32-GPU job (4 × 8) on two sites of 16 GPUs was
// kept, never started, and `carnot workload philly` failed as a whole
// ("the converted jobs do not validate …: needs 32 GPUs (4 × 8) in one
// site", a bug to report). It is left out now, with a note saying
// why; a gang one site holds is kept.
func TestOntoFacilityKeepsGangsToOneSite(t *testing.T) {
	f, err := facility.Load("two.yaml", []byte(twoSites))
	if err != nil {
		t.Fatal(err)
	}
	jobs := phillyJobs(t,
		"2017-10-01 00:00:00,60,16,960,a",  // philly-1: 2 × 8, one site holds it
		"2017-10-01 00:00:01,60,32,1920,a", // philly-2: 4 × 8, both sites together only
	)
	kept, notes, err := OntoFacility(f, jobs, Mapping{Default: "lab-a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || kept[0].ID != "philly-1" {
		t.Errorf("kept %v; want philly-1 alone", ids(kept))
	}
	want := "1 of 2 jobs left out: they would never start, as the sites their tenant may use never hold as many GPUs as they need at once " +
		"(lab-a: 1 job of 32 GPUs, the sites it may use have at most 16 GPUs of one model they accept in one site, 32 in all)"
	if !strings.Contains(strings.Join(notes, "\n"), want) {
		t.Errorf("notes %q; want one saying %q", notes, want)
	}
	var buf bytes.Buffer
	if err := jobspec.Write(&buf, kept); err != nil {
		t.Fatal(err)
	}
	if _, err := jobspec.Load("converted.jsonl", buf.Bytes(), f); err != nil {
		t.Errorf("the jobs kept do not load back: %v", err)
	}
	for _, j := range kept {
		if p := sched.Schedule(&model.Snapshot{Facility: f, Pending: []*model.Job{j}}, j.SubmitTime); len(p.Starts) != 1 {
			t.Errorf("%s is kept but does not start alone: %+v", j.ID, p.Pending)
		}
	}
}
