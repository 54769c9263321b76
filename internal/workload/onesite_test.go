package workload

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
)

// twoSites is a facility of two sites, each of four 8×H100 nodes (32
// GPUs): the facility holds 64 H100s, but one site only 32, and a gang
// whose topology is not any stays in one site.
const twoSites = `name: two-sites
sites:
  - id: par1
    country: FR
    operator: Example Compute SAS
    power_envelope_kw: 40
    pue: 1.3
    halls:
      - id: par1-h1
        racks:
          - id: par1-r1
            nodes:
              - {names: "par-[1-4]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 1000, leaf: par1-l1, spine: par1-s1}
  - id: fra1
    country: DE
    operator: Example Compute GmbH
    power_envelope_kw: 40
    pue: 1.3
    halls:
      - id: fra1-h1
        racks:
          - id: fra1-r1
            nodes:
              - {names: "fra-[1-4]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 1000, leaf: fra1-l1, spine: fra1-s1}
cohorts:
  - name: all
tenants:
  - name: lab-a
    cohort: all
    quota:
      H100: {nominal: 64}
  - name: lab-b
    cohort: all
    jurisdictions: [EU]
    quota:
      H100: {nominal: 32, borrowing_limit: 32}
`

// loadBack writes jobs as `carnot workload generate` does and reads
// them as `carnot sim` does (jobspec.LoadFileToReplay), returning the
// loader's error.
func loadBack(t *testing.T, fac *model.Facility, jobs []*model.Job) error {
	t.Helper()
	var buf bytes.Buffer
	if err := jobspec.Write(&buf, jobs); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gen.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := jobspec.LoadFileToReplay(path, fac)
	return err
}

// TestGeneratedFitOneSite: the generator sized a gang by the replicas
// all the sites of its GPU model hold, but the core keeps a gang whose
// topology is not any in one site, and the job-file loader refuses one
// that no site it may use holds. On twoSites, the 1,000 jobs of
// `carnot workload generate` (GenerateRunnable), seed 1, held gangs of
// 64 GPUs at leaf, hall or site level, which `carnot sim` then refused
// to load. Generate, the benchmarks' workload, gives such a gang
// topology any instead (TestGeneratedGangsFitOneSite).
func TestGeneratedFitOneSite(t *testing.T) {
	fac, err := facility.Load("two-sites.yaml", []byte(twoSites))
	if err != nil {
		t.Fatal(err)
	}
	jobs := GenerateRunnable(fac, 1000, 1, start)
	spans := 0
	for _, j := range jobs {
		if j.Replicas*j.GPUsPerReplica > 32 {
			spans++
			if j.Kind == model.KindJob && j.Topology.Level != model.LevelAny {
				t.Errorf("%s: %d × %d GPUs at topology %s: more than one site holds", j.ID, j.Replicas, j.GPUsPerReplica, j.Topology.Level)
			}
		}
	}
	if spans == 0 {
		t.Error("no job spans the sites: the case tests nothing")
	}
	if err := loadBack(t, fac, jobs); err != nil {
		t.Errorf("load back to replay: %v", jobspec.Brief(err))
	}
	if bad := unstartable(fac, jobs); len(bad) > 0 {
		t.Errorf("%d jobs do not start alone on the facility, e.g. %s", len(bad), bad[0])
	}
}
