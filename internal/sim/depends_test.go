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
	b.DependsOn = afterOK("a")
	c := job("c", "acme", "normal", 1, 1, t0+60, model.Hour)
	c.DependsOn = afterOK("b", "a")
	x := job("x", "beta", "normal", 3, 8, t0, model.Hour) // 24 GPUs of 16
	d := job("d", "beta", "normal", 1, 1, t0, model.Hour)
	d.DependsOn = afterOK("x")
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

// afterany waits in the twin as afterok does: its jobs never fail, so a
// dependency ends only by completing; a job preempted meanwhile (or
// killed by a node failure) is queued again, not ended. Here b, afterany
// of a, starts when a completes, after its preemption by c.
func TestDependsOnAfterAnyInTheTwin(t *testing.T) {
	a := job("a", "acme", "normal", 1, 8, t0, model.Hour)
	a.Preemptible = true
	b := job("b", "acme", "normal", 1, 8, t0, model.Hour)
	b.DependsOn = []model.Dependency{{Job: "a", Type: model.AfterAny}}
	c := job("c", "beta", "high", 1, 8, t0+600, model.Hour)
	var log strings.Builder
	r, err := Run(Config{Facility: facility(1), Jobs: []*model.Job{a, b, c}}, &log)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*JobRecord{}
	for i := range r.Jobs {
		got[r.Jobs[i].Job.ID] = &r.Jobs[i]
	}
	if got["a"].Preemptions == 0 || got["b"].FirstStart < got["a"].End || got["b"].FirstStart == 0 {
		t.Errorf("a preempted %d times, ended at %s; b started at %s; want a preempted and b started after it completed\n%s",
			got["a"].Preemptions, got["a"].End, got["b"].FirstStart, log.String())
	}
	if !strings.Contains(log.String(), "arrive b (dependency: waits for a to complete)") {
		t.Errorf("the log does not say b waits for a:\n%s", log.String())
	}
}

// afterany on a deployment waits for its end, as on the live server: in
// the twin a deployment ends when it has served its runtime limit (b
// starts then, on the GPUs it frees); one without a limit serves until
// the run ends, and a job waiting for it never starts, saying why.
func TestDependsOnDeploymentInTheTwin(t *testing.T) {
	svc := job("svc", "acme", "normal", 1, 8, t0, model.Hour)
	svc.Kind = model.KindDeployment
	b := job("b", "acme", "normal", 1, 8, t0, model.Hour)
	b.DependsOn = []model.Dependency{{Job: "svc", Type: model.AfterAny}}
	forever := job("forever", "beta", "normal", 1, 8, t0, 0)
	forever.Kind = model.KindDeployment
	c := job("c", "beta", "normal", 1, 1, t0, model.Hour)
	c.DependsOn = []model.Dependency{{Job: "forever", Type: model.AfterAny}}
	var log strings.Builder
	r, err := Run(Config{Facility: facility(2), Jobs: []*model.Job{svc, b, forever, c}}, &log)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*JobRecord{}
	for i := range r.Jobs {
		got[r.Jobs[i].Job.ID] = &r.Jobs[i]
	}
	if got["svc"].End != t0+3600 || got["b"].FirstStart != t0+3600 {
		t.Errorf("svc ended at %s, b started at %s; want both at %s\n%s", got["svc"].End, got["b"].FirstStart, t0+3600, log.String())
	}
	if got["c"].FirstStart != 0 || got["c"].LastReason != "dependency: waits for forever to complete" {
		t.Errorf("c started at %s with reason %q; want never, waiting for forever", got["c"].FirstStart, got["c"].LastReason)
	}
}

// A dependency outside the workload, afterok on a deployment or on
// itself is an error naming the jobs.
func TestDependsOnErrorsInTheTwin(t *testing.T) {
	for _, c := range []struct {
		dep, want string
	}{
		{"nosuch", "sim: job b depends on nosuch, which is not in the workload"},
		{"svc", "sim: job b depends on svc, a deployment, with afterok: a deployment runs until stopped, not to success, so it would never run; make it afterany to start once svc ends"},
		{"b", "sim: job b depends on itself"},
		{"afternotok:nosuch", "sim: job b depends on nosuch with afternotok: the twin's jobs never fail, so it would never run; leave it out or make it afterany"},
	} {
		svc := job("svc", "acme", "normal", 1, 1, t0, model.Hour)
		svc.Kind = model.KindDeployment
		b := job("b", "acme", "normal", 1, 1, t0, model.Hour)
		b.DependsOn = afterOK(c.dep)
		if id, ok := strings.CutPrefix(c.dep, "afternotok:"); ok {
			b.DependsOn = []model.Dependency{{Job: id, Type: model.AfterNotOK}}
		}
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
	b.DependsOn = afterOK("a")
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

// afterOK is depends_on naming ids, each afterok.
func afterOK(ids ...string) []model.Dependency {
	var out []model.Dependency
	for _, id := range ids {
		out = append(out, model.Dependency{Job: id})
	}
	return out
}
