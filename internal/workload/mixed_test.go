package workload

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
)

// mixedNodes is a facility whose H100s are one 8-GPU node and six
// 2-GPU nodes: 20 GPUs, of which only 8 can hold a replica of 8, and
// only 8 of 4 (the 2-GPU nodes hold none).
const mixedNodes = `name: mixed
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
              - {names: big-1, gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 1000, leaf: l1, spine: s1}
              - {names: "small-[1-6]", gpu_model: H100, gpus: 2, cpus: 28, memory_gib: 512, base_watts: 1000, leaf: l1, spine: s1}
cohorts:
  - name: all
tenants:
  - name: lab-a
    cohort: all
    quota:
      H100: {nominal: 20}
policy:
  quotas: false
`

// TestGeneratedFitNodes: the generator scaled a deployment (and a gang)
// to the GPUs of the facility, not to the replicas its nodes hold: on
// mixedNodes, 5 replicas of 4 GPUs are 20 GPUs, but the nodes hold 2
// of them, and the deployment's min replicas (half the replicas it was
// drawn with, at most its replicas) stayed above 2, so it never
// started. Every job the generator makes now starts alone on the
// facility it was made for, its replicas and min replicas within what
// the nodes hold.
func TestGeneratedFitNodes(t *testing.T) {
	fac, err := facility.Load("mixed.yaml", []byte(mixedNodes))
	if err != nil {
		t.Fatal(err)
	}
	for name, gen := range map[string]func(*model.Facility, int, int64, model.Time) []*model.Job{"Generate": Generate, "GenerateRunnable": GenerateRunnable} {
		jobs := gen(fac, 400, 7, start)
		deployments := 0
		for _, j := range jobs {
			if j.Kind != model.KindDeployment {
				continue
			}
			deployments++
			if fit := 8/j.GPUsPerReplica + 6*(2/j.GPUsPerReplica); j.MinReplicas > fit || j.Replicas > fit || j.MinReplicas < 1 {
				t.Errorf("%s: deployment %s: %d to %d replicas of %d GPUs; the nodes hold %d", name, j.ID, j.MinReplicas, j.Replicas, j.GPUsPerReplica, fit)
			}
		}
		if deployments == 0 {
			t.Fatalf("%s: no deployment among %d jobs: the case tests nothing", name, len(jobs))
		}
		if bad := unstartable(fac, jobs); len(bad) > 0 {
			t.Errorf("%s: %d of %d jobs do not start alone on the facility, e.g. %s", name, len(bad), len(jobs), bad[0])
		}
	}
}
