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
