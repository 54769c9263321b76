package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A deployment's minimum is a count of replicas, said after the per-replica
// sizes: before, "per replica" was appended after it ("4 × 2 GPUs, at least
// 2 replicas per replica").
func TestDescribeDeploymentMinReplicas(t *testing.T) {
	f := newFake(t)
	start := time.Now().Add(-time.Minute)
	f.jobs = []api.Job{{ID: "d", Kind: "deployment", Tenant: "lab-a", State: api.StateRunning,
		Spec:       json.RawMessage(`{"kind":"deployment","replicas":4,"min_replicas":2,"gpus":2,"cpus":8,"command":["serve"]}`),
		SubmitTime: start, StartTime: &start, Attempt: 1}}
	code, out, errs := carnot("describe", "--server", f.srv.URL, "d")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "Resources:       4 × 2 GPUs, 8 CPUs per replica; at least 2 replicas\n"
	if !strings.Contains(out, want) {
		t.Errorf("describe output lacks %q:\n%s", want, out)
	}
}
