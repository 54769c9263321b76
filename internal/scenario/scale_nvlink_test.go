package scenario

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
)

// gpu_scale adds a rack-scale NVLink domain (GB200 NVL72: 18 trays of 4
// GPUs) whole. Every added node was its own NVLink domain, so doubling
// such a facility added nothing a job that needs one domain can use: a
// planner asking what more racks bring saw utilization halve and the
// same waits. The copies of one domain's nodes in one round now form a
// new domain of their own, as large as the original.
func TestGPUScaleKeepsNVLinkDomains(t *testing.T) {
	base, err := facility.Load("nvl.yaml", []byte(`name: nvl
sites:
  - id: a
    country: FR
    operator: o
    power_envelope_kw: 500
    pue: 1.2
    halls:
      - id: h
        cooling: liquid
        racks:
          - id: nvl[1-2]
            nodes:
              - {names: "{rack}-t[01-18]", gpu_model: GB200, gpus: 4, cpus: 144, memory_gib: 960, base_watts: 1500, nvlink_domain_size: 18}
          - id: s
            nodes:
              - {names: "s[1-2]", gpu_model: H100, gpus: 8, cpus: 112, memory_gib: 2048, base_watts: 2000}
`))
	if err != nil {
		t.Fatal(err)
	}
	f, err := FacilityVariant{GPUScale: 2}.apply(base)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{}
	for _, n := range f.Nodes {
		if n.GPUModel == "GB200" {
			sizes[n.NVLinkDomain]++
		}
	}
	if len(sizes) != 4 {
		t.Errorf("%d GB200 NVLink domains, want 4 (2 and 2 added): %v", len(sizes), sizes)
	}
	for d, n := range sizes {
		if n != 18 {
			t.Errorf("NVLink domain %s has %d nodes, want 18", d, n)
		}
	}
	// a node that is its own domain stays so, named after the copy
	for _, n := range f.Nodes {
		if n.GPUModel == "H100" && n.NVLinkDomain != n.Name {
			t.Errorf("H100 node %s is in NVLink domain %s, want its own", n.Name, n.NVLinkDomain)
		}
	}
}
