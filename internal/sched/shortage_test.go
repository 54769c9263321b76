package sched_test

import (
	"testing"
)

// A capacity reason names what is short: CPUs or memory when the GPUs
// are free or none are asked for, on GPU-less nodes or, where the
// facility has none, on GPU nodes; and a job that recalls the verdict of
// a smaller one of its kind in the same pass gets the words for its own
// size.
func TestCapacityReasonSaysWhatIsShort(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100
nodes h1 site=par cpus=128 mem=1024
nodes h2 site=par cpus=32 mem=1024
tenant acme
policy all=off backfill=on
running r tenant=acme on=h1:0-7 cpus=100
job prep tenant=acme gpus=0 cpus=64
job small tenant=acme gpus=8 cpus=64
job big tenant=acme gpus=8 cpus=96 mem=64
job two tenant=acme gpus=8 cpus=96 mem=64 replicas=2
`)
	if steps[0].verr != nil {
		t.Fatalf("verify: %v", steps[0].verr)
	}
	for _, c := range []struct{ job, want string }{
		{"prep", "capacity: needs 64 CPUs and 32 GiB; eligible H100 nodes have at most 32 CPUs and 1024 GiB free"},
		{"small", "capacity: needs 8 H100 with 64 CPUs and 32 GiB; 8 usable free on eligible nodes, but the nodes with 8 free H100 have at most 32 CPUs and 1024 GiB free"},
		{"big", "capacity: needs 8 H100 with 96 CPUs and 64 GiB; 8 usable free on eligible nodes, but the nodes with 8 free H100 have at most 32 CPUs and 1024 GiB free"},
		{"two", "capacity: needs 2×8 H100; 8 usable free on eligible nodes"},
	} {
		pe := pendingOf(steps[0].plan, c.job)
		if pe == nil || pe.Code != "capacity" || pe.Message != c.want {
			t.Errorf("%s: %+v\nwant message %q", c.job, pe, c.want)
		}
	}
}
