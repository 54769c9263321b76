package scenario

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
	"github.com/google/go-cmp/cmp"
)

// TestBatchProblemsAtTheirField: a batch whose jobs do not fit the
// facility was reported against the job file it is written out as
// ("workload.batch.jsonl:1: jobs[0].replicas: …", one line per job), a
// file the user never wrote. Each problem is now reported once, at the
// set file's line and field of the batch that caused it, saying which
// of the batch's jobs it holds for.
func TestBatchProblemsAtTheirField(t *testing.T) {
	const head = "facility: testdata/lab4.yaml\ngrids: {FR: {zone: FR}}\nworkload:\n  batch:\n" +
		"    jobs: 3\n    start: 2023-05-01T00:00:00Z\n    every: 1h\n    runtime: 4h\n" // lines 1-8
	for _, tc := range []struct {
		name, rest string
		want       []string
	}{
		{"replicas", "    gpus: 8\n    replicas: 5\n    tenants: [lab-a]\n", []string{
			"set.yaml:10: workload.batch.replicas: needs 40 GPUs (5 × 8) of one GPU model (a gang never mixes models) but the facility holds at most 4 such replicas of H100 (32 GPUs); give fewer replicas (all 3 jobs)"}},
		{"gpus", "    gpus: 16\n    tenants: [lab-a]\n", []string{
			"set.yaml:9: workload.batch.gpus: 16 GPUs per replica, but no node has more than 8; split the work into more replicas (all 3 jobs)"}},
		{"tenant", "    gpus: 8\n    tenants:\n      - lab-a\n      - nobody\n", []string{
			`set.yaml:12: workload.batch.tenants[1]: unknown tenant "nobody" (the facility has lab-a, lab-b, lab-c) (job b2 of 3)`}},
		{"class", "    gpus: 8\n    tenants: [lab-a, lab-b]\n    priority_class: urgent\n", []string{
			`set.yaml:11: workload.batch.priority_class: unknown priority class "urgent" (the facility has critical, high, low, normal) (all 3 jobs)`}},
		// problems whose wording differs from job to job (their times)
		// are one line too, in the first job's words; a runtime that
		// ends too late is told in the batch's words (runtime, start),
		// not the job file's (runtime_limit, submit_time)
		{"late", "    gpus: 8\n    tenants: [lab-a]\n", []string{
			"set.yaml:8: workload.batch.runtime: 4h from job b1's submission at 9999-12-31T20:00:51Z ends past 9999-12-31T23:59:59Z, the latest time carnot can write; " +
				"give a runtime of at most 14348s (3h59m8s) or an earlier start (job b1, and 2 more of the 3 jobs)"}},
		{"past", "    gpus: 8\n    tenants: [lab-a]\n", []string{
			"set.yaml:6: workload.batch.start: job b3 would be submitted past 9999-12-31T23:59:59Z, the latest time carnot can write " +
				"(job i at start + i·every and a jitter within every); give an earlier start, a shorter every or fewer jobs"}},
		// a deadline past the latest time, the slack's doing, is told at
		// slack in words, not as the job file's number (until
		// 2026-12-02: "workload.batch.slack: must be after
		// 1970-01-01T00:00:00Z and before year 10000 (got
		// 253408279877)"); where the runtime alone ends past it, the
		// runtime's problem says so, and the deadline's adds nothing
		{"due", "    gpus: 8\n    tenants: [lab-a]\n    slack: 100d\n", []string{
			"set.yaml:11: workload.batch.slack: the deadline (submission + runtime + slack) would be past 9999-12-31T23:59:59Z, " +
				"the latest time carnot can write; give a smaller slack or an earlier start (all 3 jobs)"}},
		{"late and due", "    gpus: 8\n    tenants: [lab-a]\n    slack: 1h\n", []string{
			"set.yaml:8: workload.batch.runtime: 4h from job b1's submission at 9999-12-31T20:00:51Z ends past 9999-12-31T23:59:59Z, the latest time carnot can write; " +
				"give a runtime of at most 14348s (3h59m8s) or an earlier start (job b1, and 2 more of the 3 jobs)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := head + tc.rest
			switch tc.name {
			case "due":
				text = strings.Replace(text, "2023-05-01T00:00:00Z", "9999-12-01T00:00:00Z", 1)
			case "late", "late and due":
				text = strings.Replace(text, "2023-05-01T00:00:00Z", "9999-12-31T20:00:00Z", 1)
				text = strings.Replace(text, "every: 1h", "every: 1m", 1)
			case "past":
				text = strings.Replace(text, "2023-05-01T00:00:00Z", "9999-12-31T22:00:00Z", 1)
			}
			s, err := Load("set.yaml", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Prepare(s, Options{Grid: bundled.Grid})
			if err == nil {
				t.Fatal("the batch prepared")
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}
