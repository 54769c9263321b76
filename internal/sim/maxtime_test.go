package sim

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestRunPastMaxTimeFails: jobs that each fit before the end of year
// 9999 can still end after it when they wait: b, submitted with a at
// 9999-12-31T00:00:00Z, waits for a's GPUs until 20:00 and would end at
// 10000-01-01T08:00:00Z, a time RFC 3339 cannot write (the event log,
// jobs.csv and summary.json wrote "10000-01-01T08:00:00Z"). The run
// stops there with an error that names the job, and does not panic.
func TestRunPastMaxTimeFails(t *testing.T) {
	const late = model.Time(253402214400) // 9999-12-31T00:00:00Z
	fac := facility(1)
	jobs := []*model.Job{
		job("a", "acme", "high", 1, 8, late, 20*model.Hour),
		job("b", "acme", "high", 1, 8, late, 12*model.Hour),
	}
	var log strings.Builder
	_, err := Run(Config{Facility: fac, Jobs: jobs}, &log)
	if err == nil {
		t.Fatalf("the run ended; log:\n%s", log.String())
	}
	want := "sim: job b would end 8h0m0s after the end of year 9999, past 9999-12-31T23:59:59Z, the latest time carnot can write"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to say %q", err, want)
	}
	if strings.Contains(log.String(), "10000-") {
		t.Errorf("the log writes a time past year 9999:\n%s", log.String())
	}
}

// TestSlowJobDoesNotWrapTime: a job's completion was now + its work
// left / its speed, converted to whole seconds; a speed small enough (a
// spread slowdown near 1) made that more seconds than an int64 holds,
// and the conversion wrapped to a time before the run began. It now
// saturates, and the run stops at year 9999 with its error.
func TestSlowJobDoesNotWrapTime(t *testing.T) {
	fac := facility(2)
	fac.Nodes[0].Rack, fac.Nodes[1].Rack = "r1", "r2" // a gang on two leaves is spread
	jobs := []*model.Job{job("slow", "acme", "high", 2, 8, t0, 100*365*model.Day)}
	jobs[0].Topology = model.Topology{Level: model.LevelSite}
	var log strings.Builder
	r, err := Run(Config{Facility: fac, Jobs: jobs, SpreadSlowdown: 1 - 1e-12}, &log)
	if err == nil || !strings.Contains(err.Error(), "sim: job slow would end") || !strings.Contains(err.Error(), "after the end of year 9999") {
		t.Fatalf("error %v; want the run to stop past year 9999\n%s", err, log.String())
	}
	for _, j := range r.Jobs {
		if j.End != 0 && j.End < t0 {
			t.Errorf("job %s ends %d, before it was submitted", j.Job.ID, j.End)
		}
	}
}
