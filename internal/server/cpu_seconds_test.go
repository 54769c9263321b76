package server

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// The CPU time an agent reports for an ended replica (its cgroup's) is
// kept with the replica, in the job's record; one that is no time (a
// negative one, from a corrupt report) is left out, as is one never
// reported.
func TestEndedReplicaKeepsItsCPUTime(t *testing.T) {
	for name, tc := range map[string]struct {
		sent *float64
		want *float64
	}{
		"reported": {ptrFloat(12.5), ptrFloat(12.5)},
		"negative": {ptrFloat(-1), nil},
		"none":     {nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			e := devEnv(t)
			id := e.submit(spec(1, 1))
			e.pass()
			e.report("n1", running(id, 0, 1))
			st := exited(id, 0, 1, 0)
			st.CPUSeconds = tc.sent
			e.report("n1", st)
			j := e.job(id)
			if !api.Final(j.State) {
				t.Fatalf("job %s after its only replica exited", j.State)
			}
			got := j.Replicas[0].CPUSeconds
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Errorf("cpu_seconds %v, want %v", orNil(got), orNil(tc.want))
			}
		})
	}
}

func ptrFloat(v float64) *float64 { return &v }

func orNil(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
