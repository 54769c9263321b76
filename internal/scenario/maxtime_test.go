package scenario

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
)

// TestWorkloadPastMaxTime: a workload whose generated jobs, moved by
// shift_to or given a deadline by flexible, reach past
// 9999-12-31T23:59:59Z was prepared, and its run either failed or wrote
// times of year 10000 that no RFC 3339 reader reads back. It is refused
// before anything runs, at the line and field that moved the jobs there.
func TestWorkloadPastMaxTime(t *testing.T) {
	const head = "facility: testdata/lab4.yaml\nworkload:\n"
	for _, tc := range []struct{ name, workload, want string }{
		{"generate", "  generate: {jobs: 20, seed: 1, start: 9999-12-31T00:00:00Z}\n",
			"set.yaml:3: workload.generate.start: job j0000015 would end past 9999-12-31T23:59:59Z, the latest time carnot can write"},
		{"shift_to", "  generate: {jobs: 20, seed: 1, start: 2023-01-01T00:00:00Z}\n  shift_to: 9999-12-31T00:00:00Z\n",
			"set.yaml:4: workload.shift_to: job j0000015 would end past 9999-12-31T23:59:59Z, the latest time carnot can write"},
		{"flexible", "  batch: {jobs: 2, start: 9999-12-30T00:00:00Z, every: 1h, runtime: 1h, gpus: 8, tenants: [lab-a]}\n  flexible: {slack: 3d}\n",
			"set.yaml:4: workload.flexible.slack: job b1's deadline would be past 9999-12-31T23:59:59Z, the latest time carnot can write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load("set.yaml", []byte(head+tc.workload))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Prepare(s, Options{Grid: bundled.Grid})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\nwant it to say %q", err, tc.want)
			}
		})
	}
}
