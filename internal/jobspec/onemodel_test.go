package jobspec

import (
	"slices"
	"testing"
)

// The check of a gang larger than the facility added up the GPUs of all
// its acceptable models, and counted GPUs rather than replicas; the
// scheduler places a gang (and a deployment's first replicas, its
// min_replicas) on one model, a whole replica per node. A gang of
// topology any bigger than what each model holds, though not than their
// sum, was accepted and never started. It is refused at its replicas (a
// deployment's min_replicas), naming what each model holds.
func TestGangLargerThanAnyModel(t *testing.T) {
	fac := testFacility() // par: 2 H100 nodes of 8; nyc: 1 H200 node of 4; B200 on no node
	for _, tc := range []struct{ name, job, want string }{
		{"models summed", `{"id": "a", "tenant": "acme", "gpus": 4, "replicas": 5, "topology": "any"}`,
			"one.jsonl:1: jobs[0].replicas: needs 20 GPUs (5 × 4) of one GPU model (a gang never mixes models) but the facility holds at most 4 such replicas of H100 (16 GPUs), 1 of H200 (4 GPUs); give fewer replicas"},
		{"models summed, of site topology", `{"id": "a", "tenant": "acme", "gpus": 4, "replicas": 5}`,
			"one.jsonl:1: jobs[0].replicas: needs 20 GPUs (5 × 4) of one GPU model (a gang never mixes models) but the facility holds at most 4 such replicas of H100 (16 GPUs), 1 of H200 (4 GPUs); give fewer replicas"},
		{"whole replicas", `{"id": "a", "tenant": "acme", "gpus": 3, "replicas": 5, "gpu_model": "H100", "topology": "any"}`,
			"one.jsonl:1: jobs[0].replicas: needs 15 GPUs (5 × 3) of one GPU model (a gang never mixes models) but the facility holds at most 4 such replicas of H100 (12 GPUs); give fewer replicas"},
		{"fits one model", `{"id": "a", "tenant": "acme", "gpus": 4, "replicas": 4, "topology": "any"}`, ""},
		{"whole replicas fit", `{"id": "a", "tenant": "acme", "gpus": 3, "replicas": 4, "gpu_model": ["H200", "H100"], "topology": "any"}`, ""},
		{"deployment, all replicas to start", `{"id": "a", "kind": "deployment", "tenant": "acme", "gpus": 4, "replicas": 5}`,
			"one.jsonl:1: jobs[0].replicas: needs 20 GPUs (5 × 4) of one GPU model to start (a deployment starts with its min_replicas, replicas when it gives none, of one model) but the facility holds at most 4 such replicas of H100 (16 GPUs), 1 of H200 (4 GPUs); give fewer replicas or a min_replicas"},
		{"deployment, its minimum", `{"id": "a", "kind": "deployment", "tenant": "acme", "gpus": 4, "replicas": 6, "min_replicas": 5}`,
			"one.jsonl:1: jobs[0].min_replicas: needs 20 GPUs (5 × 4) of one GPU model to start (a deployment starts with its min_replicas, replicas when it gives none, of one model) but the facility holds at most 4 such replicas of H100 (16 GPUs), 1 of H200 (4 GPUs); give a smaller min_replicas"},
		{"deployment above the facility, minimum within", `{"id": "a", "kind": "deployment", "tenant": "acme", "gpus": 4, "replicas": 9, "min_replicas": 4}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("one.jsonl", []byte(tc.job+"\n"), fac)
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
