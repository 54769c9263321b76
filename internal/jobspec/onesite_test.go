package jobspec

import (
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// A gang that must stay in one site (every topology but any; site is
// the default) and needs more GPUs than any site has of one acceptable
// model, though not more than the facility, was accepted and waited for
// ever ("capacity: … can hold 2 such replica(s) in one site at most").
// It is refused at its replicas, saying how much the largest site
// holds, and offering topology any when the sites together would hold
// it. A gang of topology any, one that fits a site, and a deployment
// (its replicas are placed one by one) are accepted.
func TestGangLargerThanAnySite(t *testing.T) {
	fac := testFacility() // par: 2 H100 nodes of 8; nyc: 1 H200 node of 4
	fac.Nodes = append(fac.Nodes, model.Node{Name: "h100-3", Site: "nyc", GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048})
	for _, tc := range []struct{ name, job, want string }{
		{"site by default", `{"id": "a", "tenant": "acme", "gpus": 8, "replicas": 3, "gpu_model": "H100"}`,
			"sites.jsonl:1: jobs[0].replicas: needs 24 GPUs (3 × 8) in one site (topology site keeps a gang in one site) but the largest site, par, holds 2 such replicas (16 H100 GPUs); give fewer replicas, or topology: any to let the gang span sites"},
		{"a tighter level", `{"id": "a", "tenant": "acme", "gpus": 8, "replicas": 3, "gpu_model": "H100", "topology": {"level": "rack", "required": true}}`,
			"sites.jsonl:1: jobs[0].replicas: needs 24 GPUs (3 × 8) in one site (topology rack keeps a gang in one site) but the largest site, par, holds 2 such replicas (16 H100 GPUs); give fewer replicas, or topology: any to let the gang span sites"},
		{"one model, whatever the models' sum", `{"id": "a", "tenant": "acme", "gpus": 4, "replicas": 5}`,
			"sites.jsonl:1: jobs[0].replicas: needs 20 GPUs (5 × 4) in one site (topology site keeps a gang in one site) but the largest site, par, holds 4 such replicas (16 H100 GPUs); give fewer replicas, or topology: any to let the gang span sites"},
		{"any", `{"id": "a", "tenant": "acme", "gpus": 8, "replicas": 3, "gpu_model": "H100", "topology": "any"}`, ""},
		{"fits a site", `{"id": "a", "tenant": "acme", "gpus": 8, "replicas": 2, "gpu_model": "H100"}`, ""},
		{"deployment", `{"id": "a", "kind": "deployment", "tenant": "acme", "gpus": 8, "replicas": 3, "gpu_model": "H100"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("sites.jsonl", []byte(tc.job+"\n"), fac)
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			if got := errLines(t, err); !slices.Equal(got, want) {
				t.Errorf("errors\n got %q\nwant %q", got, want)
			}
		})
	}
}
