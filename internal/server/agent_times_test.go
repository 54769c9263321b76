package server

import (
	"math"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// The times a replica's agent reports (started_at, ended_at) are the
// agent's clock. A replica's GPU time is billed from them, to the job,
// to GET /v1/usage and to its tenant's fair share, so the server keeps
// them within what it knows: not after the report reached it, not
// before the replica was assigned, and an end not before the server last
// heard the replica running.

// exitedAt is replica 0 of attempt 1 reported exited 0, ended at at.
func exitedAt(id string, at time.Time) api.TaskStatus {
	st := exited(id, 0, 1, 0)
	st.EndedAt = &at
	return st
}

// billed is the GPU-seconds of a one-GPU job in its usage, in GET
// /v1/usage and in the fair-share history.
func billed(e *env, id string) (job, usage, fairShare float64) {
	e.t.Helper()
	var ul api.UsageList
	e.do("GET", "/v1/usage", nil, &ul)
	job = e.job(id).Usage.GPUSeconds
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	if fs := e.s.usage["default"]; fs != nil {
		fairShare = fs.GPUSeconds
	}
	return job, ul.Total.GPUSeconds, fairShare
}

// An ended_at ahead of the server's clock (an agent whose clock is
// ahead, a corrupt report) is taken as the time the report arrived: a
// replica that held its GPU a minute is billed a minute, not a year.
func TestEndedAtAheadOfServerIsNow(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	e.clock.add(time.Minute)
	e.report("n1", exitedAt(id, e.clock.now().Add(365*24*time.Hour)))
	j := e.job(id)
	if !api.Final(j.State) {
		t.Fatalf("job %s after its only replica exited", j.State)
	}
	if end := j.Replicas[0].EndedAt; end == nil || !end.Equal(e.clock.now()) {
		t.Errorf("ended_at %v, want the server's time of the report, %v", end, e.clock.now())
	}
	job, usage, fs := billed(e, id)
	for what, got := range map[string]float64{"the job's usage": job, "GET /v1/usage": usage, "the fair-share history": fs} {
		if math.Abs(got-60) > 1e-9 {
			t.Errorf("%s: %v GPU-seconds for one GPU held 60 s", what, got)
		}
	}
}

// An ended_at behind what the server knows (an agent whose clock is
// behind) is taken as the last time the server heard the replica
// running; the GPU time counts until the server freed the GPUs, at the
// report of the end, and none is given away.
func TestEndedAtBeforeLastReportIsThatReport(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	e.clock.add(50 * time.Second)
	e.report("n1", running(id, 0, 1)) // still running at 50 s
	heard := e.clock.now()
	e.clock.add(10 * time.Second)
	e.report("n1", exitedAt(id, heard.Add(-365*24*time.Hour)))
	j := e.job(id)
	if end := j.Replicas[0].EndedAt; end == nil || !end.Equal(heard) {
		t.Errorf("ended_at %v, want the last report of it running, %v", end, heard)
	}
	job, usage, fs := billed(e, id)
	for what, got := range map[string]float64{"the job's usage": job, "GET /v1/usage": usage, "the fair-share history": fs} {
		if math.Abs(got-60) > 1e-9 {
			t.Errorf("%s: %v GPU-seconds, want 60: the GPU was held until the end was reported, 60 s after its assignment", what, got)
		}
	}
}

// A started_at out of range is kept within [assigned_at, now]: ahead of
// the server it is the time of the report; before the assignment, the
// assignment.
func TestStartedAtWithinAssignmentAndNow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shift time.Duration // from the report's time
		want  func(assigned, now time.Time) time.Time
	}{
		{"ahead", 24 * time.Hour, func(_, now time.Time) time.Time { return now }},
		{"before the assignment", -24 * time.Hour, func(assigned, _ time.Time) time.Time { return assigned }},
		{"in range", -time.Second, func(_, now time.Time) time.Time { return now.Add(-time.Second) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := devEnv(t)
			id := e.submit(spec(1, 1))
			e.pass()
			assigned := *e.job(id).Replicas[0].AssignedAt
			e.clock.add(5 * time.Second)
			st := running(id, 0, 1)
			at := e.clock.now().Add(tc.shift)
			st.StartedAt = &at
			e.report("n1", st)
			want := tc.want(assigned, e.clock.now())
			if got := e.job(id).Replicas[0].StartedAt; got == nil || !got.Equal(want) {
				t.Errorf("started_at %v reported at %v: shown %v, want %v", at, e.clock.now(), got, want)
			}
			// Its end, reported without ended_at, is when the report arrives.
			e.clock.add(5 * time.Second)
			e.report("n1", exited(id, 0, 1, 0))
			if got := e.job(id).Replicas[0]; got.StartedAt == nil || got.EndedAt == nil || got.EndedAt.Before(*got.StartedAt) {
				t.Errorf("started_at %v, ended_at %v: want an end not before the start", got.StartedAt, got.EndedAt)
			}
		})
	}
}
