package sim

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestVerifierStopsTheRun: a plan that fails plan.Verify comes back as
// the run's error, naming its pass, whether found by a later submit or by
// close; valid plans pass.
func TestVerifierStopsTheRun(t *testing.T) {
	fac := facility(1)
	j := job("j", "acme", "normal", 1, 8, t0, model.Hour)
	snap := &model.Snapshot{Facility: fac, Pending: []*model.Job{j}}
	good := model.Plan{Now: t0, Pending: []model.Pending{{Job: "j", Code: model.ReasonCapacity, Message: "capacity"}}}
	bad := model.Plan{Now: t0 + 60, Starts: []model.Start{{Job: "j", Replicas: []model.Placement{{Node: "nowhere", GPUs: []int{0}}}}}}

	v := newVerifier(fac)
	if err := v.submit(snap, &good, delta{}); err != nil {
		t.Fatal(err)
	}
	if err := v.close(); err != nil {
		t.Fatalf("a valid plan failed: %v", err)
	}

	v = newVerifier(fac)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		p := good
		if i == 0 {
			p = bad
		}
		err = v.submit(snap, &p, delta{})
	}
	if err == nil {
		err = v.close()
	}
	if err == nil || !strings.Contains(err.Error(), "2026-01-01T00:01:00Z fails verification") || !strings.Contains(err.Error(), "nowhere") {
		t.Fatalf("got %v, want the failure of the plan at 00:01", err)
	}
}

// TestVerifierFailureBeforePassLimit: a run stopped by the pass limit
// while the verifier still had a failing plan in hand (its check is
// batched behind the engine) reports the failure, first, and the pass
// limit after it; it used to report only the pass limit.
func TestVerifierFailureBeforePassLimit(t *testing.T) {
	tamperVerified = func(p *model.Plan) {
		if p.Now == t0 {
			p.Starts = []model.Start{{Job: "a", Replicas: []model.Placement{{Node: "nowhere", GPUs: []int{0}}}}}
		}
	}
	defer func() { tamperVerified = nil }()
	jobs := []*model.Job{
		job("a", "acme", "normal", 1, 8, t0, model.Hour),
		job("b", "acme", "normal", 1, 8, t0+60, model.Hour),
		job("c", "acme", "normal", 1, 8, t0+120, model.Hour),
	}
	_, err := Run(Config{Facility: facility(1), Jobs: jobs, MaxPasses: 2}, nil)
	if err == nil {
		t.Fatal("Run: no error, want the verifier's failure and the pass limit")
	}
	msg := err.Error()
	ver := strings.Index(msg, "sim: the core's plan at 2026-01-01T00:00:00Z fails verification")
	lim := strings.Index(msg, "sim: more than 2 scheduling passes")
	if ver != 0 || lim < 0 || !strings.Contains(msg, "nowhere") {
		t.Fatalf("Run: %v\nwant the verification failure of the plan at 00:00 first, then the pass limit", err)
	}
}
