package jobspec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestSizesAgreeWithLoad: the generator's size rule (Sizes) is the
// loader's: a job passes Sizes.Fits exactly when Load accepts it, for
// gangs and deployments of every topology, GPU model and jurisdiction,
// on both sides of the boundary Room draws.
func TestSizesAgreeWithLoad(t *testing.T) {
	fac := testFacility() // par: 2 H100 nodes of 8; nyc: 1 H200 node of 4
	fac.Nodes = append(fac.Nodes, model.Node{Name: "h100-3", Site: "nyc", GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048})
	sizes := NewSizes(fac)
	tenants := map[string]*model.Tenant{}
	for i := range fac.Tenants {
		tenants[fac.Tenants[i].Name] = &fac.Tenants[i]
	}
	checked, refused := 0, 0
	for _, tenant := range []string{"acme", "eu-lab", "us-co", "fr-co"} {
		for _, gm := range []string{"", "H100", "H200"} {
			for _, gpus := range []int{1, 4, 8} {
				for _, topo := range []model.TopologyLevel{model.LevelAny, model.LevelSite, model.LevelRack} {
					for _, kind := range []model.Kind{model.KindJob, model.KindDeployment} {
						for _, jur := range [][]string{nil, {"FR"}, {"US"}} {
							for replicas := 1; replicas <= 6; replicas++ {
								j := &model.Job{Kind: kind, Tenant: tenant, GPUsPerReplica: gpus, Replicas: replicas,
									MinReplicas: replicas, Topology: model.Topology{Level: topo}, Jurisdictions: jur}
								if gm != "" {
									j.GPUModels = []string{gm}
								}
								line := fmt.Sprintf(`{"id": "a", "kind": %q, "tenant": %q, "gpus": %d, "replicas": %d, "min_replicas": %d, "topology": %q`,
									kind, tenant, gpus, replicas, replicas, topo)
								if gm != "" {
									line += fmt.Sprintf(`, "gpu_model": %q`, gm)
								}
								if jur != nil {
									line += fmt.Sprintf(`, "jurisdictions": ["%s"]`, strings.Join(jur, `", "`))
								}
								if kind == model.KindJob {
									line = strings.Replace(line, `, "min_replicas": `+fmt.Sprint(replicas), "", 1)
								}
								_, err := Load("sizes.jsonl", []byte(line+"}\n"), fac)
								fits := sizes.Fits(tenants[tenant], j)
								if fits != (err == nil) {
									t.Errorf("%s: Fits %v, Room %d; Load: %v", line+"}", fits, sizes.Room(tenants[tenant], j), err)
								}
								checked++
								if err != nil {
									refused++
								}
							}
						}
					}
				}
			}
		}
	}
	if refused == 0 || refused == checked {
		t.Errorf("%d of %d jobs refused: the case tests nothing", refused, checked)
	}
}

// TestSizesCPUOnlyAndDeploymentMin: Fits agrees with Load for the jobs
// TestSizesAgreeWithLoad leaves out: CPU-only ones (no GPUs, with a GPU
// model or without), which the size checks do not count, and
// deployments that start with fewer replicas than they keep asking for.
func TestSizesCPUOnlyAndDeploymentMin(t *testing.T) {
	fac := testFacility() // par: 2 H100 nodes of 8; nyc: 1 H200 node of 4
	sizes := NewSizes(fac)
	tenants := map[string]*model.Tenant{}
	for i := range fac.Tenants {
		tenants[fac.Tenants[i].Name] = &fac.Tenants[i]
	}
	type tc struct {
		line string
		job  model.Job
	}
	var cases []tc
	for _, tenant := range []string{"acme", "us-co"} {
		for _, gm := range []string{"", "H100"} {
			for _, kind := range []model.Kind{model.KindJob, model.KindDeployment} {
				for _, replicas := range []int{1, 3, 40} {
					j := model.Job{Kind: kind, Tenant: tenant, Replicas: replicas, MinReplicas: replicas, CPUsPerReplica: 4, MemGiBPerReplica: 8}
					line := fmt.Sprintf(`{"id": "a", "kind": %q, "tenant": %q, "gpus": 0, "cpus": 4, "memory_gib": 8, "replicas": %d`, kind, tenant, replicas)
					if gm != "" {
						j.GPUModels = []string{gm}
						line += fmt.Sprintf(`, "gpu_model": %q`, gm)
					}
					cases = append(cases, tc{line + "}", j})
				}
			}
		}
		for _, rm := range [][2]int{{3, 1}, {3, 2}, {6, 2}, {6, 3}, {6, 5}} {
			j := model.Job{Kind: model.KindDeployment, Tenant: tenant, GPUsPerReplica: 8, Replicas: rm[0], MinReplicas: rm[1], GPUModels: []string{"H100"}}
			line := fmt.Sprintf(`{"id": "a", "kind": "deployment", "tenant": %q, "gpus": 8, "gpu_model": "H100", "replicas": %d, "min_replicas": %d}`, tenant, rm[0], rm[1])
			cases = append(cases, tc{line, j})
		}
	}
	for _, c := range cases {
		_, err := Load("sizes.jsonl", []byte(c.line+"\n"), fac)
		if fits := sizes.Fits(tenants[c.job.Tenant], &c.job); fits != (err == nil) {
			t.Errorf("%s: Fits %v, Room %d; Load: %v", c.line, fits, sizes.Room(tenants[c.job.Tenant], &c.job), err)
		}
	}
}
