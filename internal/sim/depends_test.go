package sim

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// A pipeline on an idle facility: b, submitted with a, starts when a
// completes; c, waiting for a job that waits itself, when b completes;
// d, whose dependency x never starts (it asks for more than the
// facility has), never starts, saying why.
func TestDependsOnInTheTwin(t *testing.T) {
	a := job("a", "acme", "normal", 1, 8, t0, model.Hour)
	b := job("b", "acme", "normal", 1, 8, t0, model.Hour)
	b.DependsOn = []string{"a"}
	c := job("c", "acme", "normal", 1, 1, t0+60, model.Hour)
	c.DependsOn = []string{"b", "a"}
	x := job("x", "beta", "normal", 3, 8, t0, model.Hour) // 24 GPUs of 16
	d := job("d", "beta", "normal", 1, 1, t0, model.Hour)
	d.DependsOn = []string{"x"}
	var log strings.Builder
	r, err := Run(Config{Facility: facility(2), Jobs: []*model.Job{a, b, c, x, d}}, &log)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*JobRecord{}
	for i := range r.Jobs {
		got[r.Jobs[i].Job.ID] = &r.Jobs[i]
	}
	if got["a"].FirstStart != t0 || got["b"].FirstStart != t0+3600 || got["c"].FirstStart != t0+7200 {
		t.Errorf("a, b, c started at %s, %s, %s; want %s, %s, %s\n%s", got["a"].FirstStart, got["b"].FirstStart, got["c"].FirstStart,
			t0, t0+3600, t0+7200, log.String())
	}
	if got["d"].FirstStart != 0 || got["d"].LastReason != "dependency: waits for x to complete" {
		t.Errorf("d started at %s with reason %q; want never, waiting for x", got["d"].FirstStart, got["d"].LastReason)
	}
	if !strings.Contains(log.String(), "release b (its dependencies completed)") {
		t.Errorf("the log does not say b was released:\n%s", log.String())
	}
}

// A dependency outside the workload, on a deployment or on itself is an
// error naming the jobs.
func TestDependsOnErrorsInTheTwin(t *testing.T) {
	for _, c := range []struct {
		dep, want string
	}{
		{"nosuch", "sim: job b depends on nosuch, which is not in the workload"},
		{"svc", "sim: job b depends on svc, a deployment: it never succeeds; depend on jobs"},
		{"b", "sim: job b depends on itself"},
	} {
		svc := job("svc", "acme", "normal", 1, 1, t0, model.Hour)
		svc.Kind = model.KindDeployment
		b := job("b", "acme", "normal", 1, 1, t0, model.Hour)
		b.DependsOn = []string{c.dep}
		_, err := Run(Config{Facility: facility(1), Jobs: []*model.Job{svc, b}}, nil)
		if err == nil || err.Error() != c.want {
			t.Errorf("depends_on %s: %v; want %q", c.dep, err, c.want)
		}
	}
}

// A job released by its dependencies is queued then, as on the live
// server: c, queued while b was held, comes before b, submitted earlier,
// for the GPUs a frees; the workload's job keeps its submit time.
func TestDependsOnReleasedQueuesAfterThoseWaiting(t *testing.T) {
	a := job("a", "acme", "normal", 1, 1, t0, model.Hour)
	b := job("b", "acme", "normal", 1, 8, t0, model.Hour)
	b.DependsOn = []string{"a"}
	c := job("c", "acme", "normal", 1, 8, t0+60, model.Hour)
	var log strings.Builder
	r, err := Run(Config{Facility: facility(1), Jobs: []*model.Job{a, b, c}}, &log)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*JobRecord{}
	for i := range r.Jobs {
		got[r.Jobs[i].Job.ID] = &r.Jobs[i]
	}
	if got["c"].FirstStart != t0+3600 || got["b"].FirstStart != t0+7200 {
		t.Errorf("c, b started at %s, %s; want %s, %s\n%s", got["c"].FirstStart, got["b"].FirstStart, t0+3600, t0+7200, log.String())
	}
	if b.SubmitTime != t0 || got["b"].Job.SubmitTime != t0 {
		t.Errorf("b's submit time became %s (record %s); want %s", b.SubmitTime, got["b"].Job.SubmitTime, t0)
	}
}
