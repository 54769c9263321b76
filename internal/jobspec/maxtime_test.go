package jobspec

import (
	"strings"
	"testing"
)

// TestEndPastMaxTime: a job submitted (or allowed to start) so late that
// its runtime limit ends past 9999-12-31T23:59:59Z was accepted, and the
// twin wrote its end as "10000-03-10T00:00:00Z", which no RFC 3339
// reader reads back. Such a job is refused at its runtime_limit, saying
// how long a runtime would fit; one that just fits is accepted.
func TestEndPastMaxTime(t *testing.T) {
	for _, tc := range []struct{ name, job, want string }{
		{"submit", `{"id": "late", "tenant": "a", "gpus": 1, "runtime_limit": "100d", "submit_time": "9999-12-01T00:00:00Z"}`,
			`late.jsonl:1: jobs[0].runtime_limit: 100d from submit_time 9999-12-01T00:00:00Z ends past 9999-12-31T23:59:59Z, the latest time carnot can write; give a runtime_limit of at most 2678399s (743h59m59s) or an earlier submit_time`},
		{"earliest", `{"id": "late", "tenant": "a", "gpus": 1, "runtime_limit": "2d", "submit_time": "2026-01-01T00:00:00Z", "earliest_start": "9999-12-31T00:00:00Z"}`,
			`late.jsonl:1: jobs[0].runtime_limit: 2d from earliest_start 9999-12-31T00:00:00Z ends past 9999-12-31T23:59:59Z, the latest time carnot can write; give a runtime_limit of at most 86399s (23h59m59s) or an earlier earliest_start`},
		{"fits", `{"id": "late", "tenant": "a", "gpus": 1, "runtime_limit": 86399, "submit_time": "9999-12-31T00:00:00Z"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("late.jsonl", []byte(tc.job+"\n"), nil)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("error\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	if !strings.HasPrefix(MaxTime.String(), "9999-12-31T23:59:59Z") {
		t.Errorf("MaxTime is %s", MaxTime)
	}
}
