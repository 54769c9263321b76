package sim

import (
	"bytes"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestStartedJobIsNotLoggedNeverStarted: a job that ran, was evicted for
// a deployment that never ends, and waits when the run ends did start:
// the event log's last lines must list it as unfinished, not as never
// started, which summary.json (never_started) and jobs.csv (its start)
// do not say either.
func TestStartedJobIsNotLoggedNeverStarted(t *testing.T) {
	a := job("a", "acme", "normal", 1, 8, t0, 4*model.Hour)
	d := job("d", "beta", "high", 1, 8, t0+600, 0) // no runtime limit: runs to the end
	d.Kind = model.KindDeployment
	never := job("n", "acme", "normal", 2, 8, t0, model.Hour) // wider than the facility
	var log bytes.Buffer
	fac := facility(1)
	res, err := Run(Config{Facility: fac, Jobs: []*model.Job{a, d, never}}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Jobs[0]; r.FirstStart != t0 || r.Preemptions != 1 || r.End != 0 {
		t.Fatalf("a: want started at %s, evicted once, unfinished; got %+v", t0, r)
	}
	if s := Summarize(fac, res); s.NeverStarted != 1 {
		t.Errorf("summary: %d never started, want 1 (n)", s.NeverStarted)
	}
	if strings.Contains(log.String(), "never-started a:") {
		t.Errorf("the event log says a never started, but it ran from %s:\n%s", t0, log.String())
	}
	if !strings.Contains(log.String(), "unfinished a:") {
		t.Errorf("the event log does not list a as unfinished:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "never-started n:") {
		t.Errorf("the event log does not list n, which never started:\n%s", log.String())
	}
}
