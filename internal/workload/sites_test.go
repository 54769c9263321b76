package workload

import (
	"bytes"
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
)

// twoSmallSites is a facility of two sites of four 8-GPU H100 nodes
// each, both open to its one tenant: 64 GPUs in all, 32 in either site.
const twoSmallSites = `name: two
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
              - {names: "a-[1-4]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 1000, leaf: la, spine: sa}
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
              - {names: "b-[1-4]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 1000, leaf: lb, spine: sb}
cohorts:
  - name: all
tenants:
  - name: lab-a
    cohort: all
    jurisdictions: [FR]
    quota:
      H100: {nominal: 64}
`

// TestGeneratedGangsFitOneSite: the generator sized a gang to the GPUs
// of all its tenant's sites and gave it a topology (nvlink, leaf, rack,
// hall, site) that keeps a gang in one site: on twoSmallSites a gang of
// 8 × 8 fits neither site, never started, and the job file loader
// refuses it ("needs 64 GPUs (8 × 8) in one site"), so that 'carnot
// workload validate' refused what 'carnot workload generate' wrote for
// the same facility. A gang larger than any one site now has topology
// any, the only one that may span sites.
func TestGeneratedGangsFitOneSite(t *testing.T) {
	fac, err := facility.Load("two.yaml", []byte(twoSmallSites))
	if err != nil {
		t.Fatal(err)
	}
	for name, gen := range map[string]func(*model.Facility, int, int64, model.Time) []*model.Job{"Generate": Generate, "GenerateRunnable": GenerateRunnable} {
		jobs := gen(fac, 400, 1, start)
		spanning := 0
		for _, j := range jobs {
			if j.Kind == model.KindJob && j.Replicas > 4 && j.GPUsPerReplica == 8 {
				spanning++
			}
		}
		if spanning == 0 {
			t.Fatalf("%s: no gang larger than a site among %d jobs: the case tests nothing", name, len(jobs))
		}
		var buf bytes.Buffer
		if err := jobspec.Write(&buf, jobs); err != nil {
			t.Fatal(err)
		}
		if _, err := jobspec.Load("gen.jsonl", buf.Bytes(), fac); err != nil {
			t.Errorf("%s: the jobs do not load back against the facility they were made for: %v", name, jobspec.Brief(err))
		}
		if bad := unstartable(fac, jobs); len(bad) > 0 {
			t.Errorf("%s: %d of %d jobs do not start alone on the facility, e.g. %s", name, len(bad), len(jobs), bad[0])
		}
	}
}

// threeSites is twoSmallSites's two French sites and a larger one in
// Germany, with a data class that keeps data in France: the French
// sites hold 8 replicas of 8 GPUs between them, but 4 each.
const threeSites = `name: three
data_classes:
  - {name: health, jurisdictions: [FR]}
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
              - {names: "a-[1-4]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 1000, leaf: la, spine: sa}
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
              - {names: "b-[1-4]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 1000, leaf: lb, spine: sb}
  - id: fra1
    country: DE
    operator: Example Compute GmbH
    power_envelope_kw: 200
    pue: 1.3
    halls:
      - id: h1
        racks:
          - id: r1
            nodes:
              - {names: "c-[1-8]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 1000, leaf: lc, spine: sc}
cohorts:
  - name: all
tenants:
  - name: lab-a
    cohort: all
    quota:
      H100: {nominal: 128}
`

// TestRunnableGangsKeepAClassThatFitsOneSite: GenerateRunnable kept a
// gang's data class when the class's sites held its replicas between
// them, though a gang that must stay in one site fits none of them (6
// × 8 in the two French sites of 4 × 8 each): the job never started,
// and the job file loader refused it. It drops such a class now, the
// gang running in the German site.
func TestRunnableGangsKeepAClassThatFitsOneSite(t *testing.T) {
	fac, err := facility.Load("three.yaml", []byte(threeSites))
	if err != nil {
		t.Fatal(err)
	}
	jobs := GenerateRunnable(fac, 2000, 1, start)
	cases := 0
	for _, j := range jobs {
		if j.Kind == model.KindJob && j.Replicas > 4 && j.Topology.Level != model.LevelAny {
			cases++
		}
	}
	if cases == 0 {
		t.Fatal("no gang larger than a French site that must stay in one site: the case tests nothing")
	}
	var buf bytes.Buffer
	if err := jobspec.Write(&buf, jobs); err != nil {
		t.Fatal(err)
	}
	if _, err := jobspec.Load("gen.jsonl", buf.Bytes(), fac); err != nil {
		t.Errorf("the jobs do not load back against the facility they were made for: %v", jobspec.Brief(err))
	}
	if bad := unstartable(fac, jobs); len(bad) > 0 {
		t.Errorf("%d of %d jobs do not start alone on the facility, e.g. %s", len(bad), len(jobs), bad[0])
	}
}
