package jobspec

import (
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// The checks of a gang larger than the facility and than any site
// counted every site; the scheduler places a job only at the sites its
// tenant's jurisdictions, its own and its data class's all allow
// (plan.SiteAllowed). A gang that fits only in sites it may not use was
// accepted and never started. Both checks count the sites it may use,
// and say which those are.
func TestGangLargerThanItsSites(t *testing.T) {
	fac := testFacility() // par (EU, FR): 2 H100 nodes of 8; nyc (US): 1 H200 node of 4; ber (EU, DE): none
	fac.Nodes = append(fac.Nodes,
		model.Node{Name: "h100-3", Site: "nyc", GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048},
		model.Node{Name: "h100-4", Site: "nyc", GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048},
		model.Node{Name: "h100-5", Site: "ber", GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048})
	fac.DataClasses = map[string][]string{"eu-only": {"EU"}, "de-only": {"DE"}}
	for _, tc := range []struct{ name, job, want string }{
		// the facility holds 5 replicas of 8 H100s, par and ber 3
		{"tenant's jurisdictions", `{"id": "a", "tenant": "eu-lab", "gpus": 8, "replicas": 4, "gpu_model": "H100", "topology": "any"}`,
			"al.jsonl:1: jobs[0].replicas: needs 32 GPUs (4 × 8) of one GPU model (a gang never mixes models) but the sites it may use (par, ber; tenant eu-lab: EU or FR) hold at most 3 such replicas of H100 (24 GPUs); give fewer replicas"},
		{"job's jurisdictions", `{"id": "a", "tenant": "acme", "gpus": 8, "replicas": 4, "gpu_model": "H100", "topology": "any", "jurisdictions": ["EU"]}`,
			"al.jsonl:1: jobs[0].replicas: needs 32 GPUs (4 × 8) of one GPU model (a gang never mixes models) but the sites it may use (par, ber; jurisdictions: EU) hold at most 3 such replicas of H100 (24 GPUs); give fewer replicas"},
		{"data class", `{"id": "a", "tenant": "acme", "gpus": 8, "replicas": 4, "gpu_model": "H100", "topology": "any", "data_class": "eu-only"}`,
			"al.jsonl:1: jobs[0].replicas: needs 32 GPUs (4 × 8) of one GPU model (a gang never mixes models) but the sites it may use (par, ber; data class eu-only: EU) hold at most 3 such replicas of H100 (24 GPUs); give fewer replicas"},
		{"all three, as narrowed", `{"id": "a", "tenant": "eu-lab", "gpus": 8, "replicas": 2, "gpu_model": "H100", "topology": "any", "jurisdictions": ["DE"], "data_class": "eu-only"}`,
			"al.jsonl:1: jobs[0].replicas: needs 16 GPUs (2 × 8) of one GPU model (a gang never mixes models) but the only site it may use (ber; tenant eu-lab: EU or FR; jurisdictions: DE; data class eu-only: EU) holds at most 1 such replica of H100 (8 GPUs); give fewer replicas"},
		{"a deployment's minimum", `{"id": "a", "kind": "deployment", "tenant": "us-co", "gpus": 8, "replicas": 5, "min_replicas": 3, "gpu_model": "H100"}`,
			"al.jsonl:1: jobs[0].min_replicas: needs 24 GPUs (3 × 8) of one GPU model to start (a deployment starts with its min_replicas, replicas when it gives none, of one model) but the only site it may use (nyc; tenant us-co: US) holds at most 2 such replicas of H100 (16 GPUs); give a smaller min_replicas"},
		{"no node of its model where it may run", `{"id": "a", "tenant": "eu-lab", "gpus": 4, "gpu_model": "H200"}`,
			"al.jsonl:1: jobs[0].replicas: needs 4 GPUs (1 × 4) of one GPU model (a gang never mixes models) but the sites it may use (par, ber; tenant eu-lab: EU or FR) hold no replica of 4 GPUs of H200; it would never start there"},
		{"no node of its models anywhere", `{"id": "a", "tenant": "us-co", "gpus": 4, "gpu_model": "B200"}`,
			"al.jsonl:1: jobs[0].gpu_model: no node of the facility has GPU model B200"},
		{"one site of those it may use", `{"id": "a", "tenant": "eu-lab", "gpus": 8, "replicas": 3, "gpu_model": "H100"}`,
			"al.jsonl:1: jobs[0].replicas: needs 24 GPUs (3 × 8) in one site (topology site keeps a gang in one site) but the largest site it may use (par, ber; tenant eu-lab: EU or FR), par, holds 2 such replicas (16 H100 GPUs); give fewer replicas, or topology: any to let the gang span sites"},
		{"one site of those its data class allows", `{"id": "a", "tenant": "acme", "gpus": 8, "replicas": 3, "gpu_model": "H100", "data_class": "eu-only"}`,
			"al.jsonl:1: jobs[0].replicas: needs 24 GPUs (3 × 8) in one site (topology site keeps a gang in one site) but the largest site it may use (par, ber; data class eu-only: EU), par, holds 2 such replicas (16 H100 GPUs); give fewer replicas, or topology: any to let the gang span sites"},
		{"fits where it may run", `{"id": "a", "tenant": "eu-lab", "gpus": 8, "replicas": 3, "gpu_model": "H100", "topology": "any"}`, ""},
		{"fits one site it may use", `{"id": "a", "tenant": "us-co", "gpus": 8, "replicas": 2, "gpu_model": "H100"}`, ""},
		{"a deployment's minimum fits", `{"id": "a", "kind": "deployment", "tenant": "eu-lab", "gpus": 8, "replicas": 9, "min_replicas": 3, "gpu_model": "H100"}`, ""},
		// the jurisdictions' own error says it: no capacity error beside it
		{"no site at all", `{"id": "a", "tenant": "eu-lab", "gpus": 8, "replicas": 4, "jurisdictions": ["US"]}`,
			"al.jsonl:1: jobs[0].jurisdictions: no site is both in US and in EU or FR, where tenant eu-lab may run"},
		{"no site for its data class", `{"id": "a", "tenant": "us-co", "gpus": 8, "data_class": "de-only"}`,
			"al.jsonl:1: jobs[0].data_class: no site the job may use (tenant us-co: US) carries a jurisdiction of data class de-only (DE): the scheduler would never start it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("al.jsonl", []byte(tc.job+"\n"), fac)
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
