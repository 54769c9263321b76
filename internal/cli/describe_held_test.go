package cli

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A start held until lent power is taken back says so: its replicas'
// state and what they wait for.
func TestDescribeHeldStart(t *testing.T) {
	f := newFake(t)
	jobs := sampleJobs()
	c := jobs[1]
	c.ID, c.State = "c", api.StateRunning
	c.Reason, c.Message = nil, ""
	c.Replicas = []api.Replica{{Index: 0, Node: "n1", GPUs: []int{0, 1}, State: api.ReplicaAssigned, Held: true}}
	c.PowerWaits = []api.PowerWait{{Job: "a", Replica: 3, Node: "n2", PowerCapW: 400}, {Replica: 0, Node: "n3", PowerCapW: 500}}
	f.jobs = append(jobs, c)
	code, out, errs := carnot("describe", "--server", f.srv.URL, "c")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"Power hold:      held replicas wait for job a, replica 3 on n2, to be lowered to 400 W; a job of another tenant, replica 0 on n3, to be lowered to 500 W\n",
		"  0        0     n1    0,1   -    assigned (held)  -     -    -        -\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe output lacks %q:\n%s", want, out)
		}
	}
}
