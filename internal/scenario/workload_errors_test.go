package scenario

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
)

// TestWorkloadErrorsBrief: a batch (or a job file) with a problem in
// every job was reported job by job: a batch of 100,000 jobs of an
// unknown tenant gave 100,001 lines. The error now lists the first 50
// problems and counts the rest, as carnot workload validate does.
func TestWorkloadErrorsBrief(t *testing.T) {
	set := "facility: testdata/lab4.yaml\ngrids: {FR: {zone: FR}}\n" +
		"workload: {batch: {jobs: 120, start: 2023-05-01T00:00:00Z, every: 1h, runtime: 1h, gpus: 8, tenants: [nobody]}}\n"
	s, err := Load("set.yaml", []byte(set))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(s, Options{Grid: bundled.Grid})
	if err == nil {
		t.Fatal("a batch of an unknown tenant prepared")
	}
	msg := err.Error()
	if n := strings.Count(msg, "unknown tenant"); n != 50 || !strings.Contains(msg, "… and 70 more problems in workload.batch.jsonl") {
		t.Errorf("%d problems listed; want 50 and a count of the other 70:\n%s", n, msg)
	}
}
