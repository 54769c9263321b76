package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// twoEqualJobs starts two low-priority jobs of 4 GPUs each together,
// filling n1, and returns them: saver, the one a tie between them does
// not pick as a victim (the core takes the lower job ID among equals),
// and other.
func twoEqualJobs(e *env) (saver, other string) {
	e.t.Helper()
	a := e.submit(spec(4, 1, "priority_class", "low"))
	b := e.submit(spec(4, 1, "priority_class", "low"))
	e.pass()
	e.report("n1", running(a, 0, 1), running(b, 0, 1))
	return max(a, b), min(a, b)
}

// later moves the clock on by d, n1's agent reporting both jobs
// running, as it does while time goes on.
func later(e *env, d time.Duration, saver, other string) {
	e.t.Helper()
	e.clock.add(d)
	e.report("n1", running(saver, 0, 1), running(other, 0, 1))
}

// checkpoint reports a routine checkpoint of running job id and returns
// the answer's job; it fails the test unless the answer is 200.
func checkpoint(e *env, id string, ack any) api.Job {
	e.t.Helper()
	var j api.Job
	if code := e.do("POST", "/v1/jobs/"+id+"/checkpoint", ack, &j); code != http.StatusOK {
		e.t.Errorf("checkpoint of running job %s: %d %s, want 200", id, code, j.ID)
	}
	return j
}

// recorded reports a routine checkpoint of running job id and returns
// the time recorded; it ends the test unless one is.
func recorded(e *env, id string) time.Time {
	e.t.Helper()
	j := checkpoint(e, id, nil)
	if j.LastCheckpoint == nil {
		e.t.Fatalf("checkpoint of running job %s: no last checkpoint recorded", id)
	}
	return *j.LastCheckpoint
}

// wantVictim fails the test unless a higher-priority job of 4 GPUs,
// submitted now, preempts saver and leaves other running.
func wantVictim(e *env, saver, other, why string) string {
	e.t.Helper()
	boss := e.submit(spec(4, 1, "priority_class", "high"))
	e.pass()
	if v := e.job(saver); v.State != api.StatePreempting || v.PreemptedFor != boss {
		e.t.Errorf("job %s, %s: %s %q; want it preempted for %s", saver, why, v.State, v.Message, boss)
	}
	if v := e.job(other); v.State != api.StateRunning {
		e.t.Errorf("job %s, which reported no checkpoint: %s %q; want it running", other, v.State, v.Message)
	}
	return boss
}

// The core costs a victim by the GPU-time it would lose since its last
// checkpoint. A running job that reports its checkpoints
// (POST /v1/jobs/{id}/checkpoint) loses less than an equal one that
// reports none, and is the one preempted: the server hands the core the
// checkpoints jobs report, as the twin hands it those it models. Before,
// the server handed none (and refused the report, 409), so the two jobs
// cost the same and the tie went to the other one, by job ID.
func TestReportedCheckpointMakesTheCheaperVictim(t *testing.T) {
	e := devEnv(t)
	saver, other := twoEqualJobs(e)
	later(e, time.Hour, saver, other)
	checkpoint(e, saver, nil)
	later(e, 10*time.Minute, saver, other)
	wantVictim(e, saver, other, "which checkpointed 10 minutes ago (it loses 40 GPU-minutes, the other 280)")
}

// A routine checkpoint is recorded by the server's clock as the job's
// last_checkpoint, returned at once and by GET, moved by the next one;
// it stops nothing. Its note is checked as an acknowledgement's (400
// naming message, recording nothing) and not kept. A pending job has no
// attempt to checkpoint (409), an ended one neither (404), each saying
// so; a job whose attempt is being stopped for a failure has nothing to
// acknowledge (409).
func TestRoutineCheckpointRecordsTheTime(t *testing.T) {
	e := devEnv(t)
	saver, other := twoEqualJobs(e)
	later(e, time.Hour, saver, other)
	at := e.clock.now().UTC()
	j := checkpoint(e, saver, api.CheckpointAck{Message: "saved step 1200 to /ckpt/1200"})
	if j.LastCheckpoint == nil || !j.LastCheckpoint.Equal(at) || j.State != api.StateRunning || j.StopBy != nil {
		t.Errorf("answer: %s, last checkpoint %v, stop by %v; want running, %v, no stop", j.State, j.LastCheckpoint, j.StopBy, at)
	}
	if g := e.job(saver); g.LastCheckpoint == nil || !g.LastCheckpoint.Equal(at) {
		t.Errorf("GET: last checkpoint %v, want %v", g.LastCheckpoint, at)
	}
	if g := e.job(other); g.LastCheckpoint != nil {
		t.Errorf("the job that reported none: last checkpoint %v", g.LastCheckpoint)
	}
	if tk := e.tasks("n1"); len(tk) != 2 || tk[0].Stop || tk[1].Stop {
		t.Errorf("tasks after a routine checkpoint %+v; want both running on", tk)
	}
	later(e, 5*time.Minute, saver, other)
	var p api.Problem
	if code := e.do("POST", "/v1/jobs/"+saver+"/checkpoint", api.CheckpointAck{Message: "a\nb"}, &p); code != http.StatusBadRequest ||
		len(p.Errors) != 1 || p.Errors[0].Field != "message" {
		t.Errorf("a note of two lines: %d %+v; want 400 naming message", code, p)
	}
	if g := e.job(saver); g.LastCheckpoint == nil || !g.LastCheckpoint.Equal(at) {
		t.Errorf("a refused report moved the last checkpoint to %v", g.LastCheckpoint)
	}
	at = e.clock.now().UTC()
	if j := checkpoint(e, saver, nil); j.LastCheckpoint == nil || !j.LastCheckpoint.Equal(at) {
		t.Errorf("the next checkpoint: %v, want %v", j.LastCheckpoint, at)
	}
	if n := checkpointEvents(e, saver); n != 0 {
		t.Errorf("%d checkpoint events for routine checkpoints, want none", n)
	}

	pending := e.submit(spec(8, 1, "priority_class", "low")) // waits: preempts neither
	e.pass()
	if code := e.do("POST", "/v1/jobs/"+pending+"/checkpoint", nil, &p); code != http.StatusConflict || !strings.Contains(p.Detail, "is pending") {
		t.Errorf("checkpoint of a pending job: %d %q; want 409 saying it is pending", code, p.Detail)
	}
	e.do("POST", "/v1/jobs/"+pending+"/cancel", nil, nil)
	e.report("n1", running(saver, 0, 1), exited(other, 0, 1, 0))
	if code := e.do("POST", "/v1/jobs/"+other+"/checkpoint", nil, &p); code != http.StatusNotFound || !strings.Contains(p.Detail, "has ended (succeeded)") {
		t.Errorf("checkpoint of a job that succeeded: %d %q; want 404 saying it ended", code, p.Detail)
	}
	if code := e.do("POST", "/v1/jobs/j-nosuchjob/checkpoint", nil, &p); code != http.StatusNotFound || p.Detail != `no job "j-nosuchjob"` {
		t.Errorf("checkpoint of no job: %d %q", code, p.Detail)
	}

	gang := e.submit(spec(1, 2, "priority_class", "low", "checkpoint_grace", "60s"))
	e.pass()
	e.report("n1", running(saver, 0, 1), running(gang, 0, 1), exited(gang, 1, 1, 3)) // the gang stops its other replica
	if code := e.do("POST", "/v1/jobs/"+gang+"/checkpoint", nil, &p); code != http.StatusConflict || !strings.Contains(p.Detail, "being stopped (replica 1 exited with code 3)") {
		t.Errorf("checkpoint of a gang stopping after a failure: %d %q; want 409 saying why it stops", code, p.Detail)
	}
}

// A job preempted after reporting checkpoints keeps its last one while
// it waits (the attempt it describes), and its next attempt starts
// without one, as each run of the twin starts its checkpoints afresh: the
// core costs the new attempt from its own start.
func TestNewAttemptStartsWithoutACheckpoint(t *testing.T) {
	e := devEnv(t)
	saver, other := twoEqualJobs(e)
	later(e, time.Hour, saver, other)
	at := recorded(e, saver)
	later(e, 10*time.Minute, saver, other)
	boss := wantVictim(e, saver, other, "which checkpointed 10 minutes ago")
	e.report("n1", api.TaskStatus{Job: saver, Replica: 0, Attempt: 1, State: api.ReplicaExited, Signal: "terminated"}, running(other, 0, 1))
	if j := e.job(saver); j.State != api.StatePending || j.LastCheckpoint == nil || !j.LastCheckpoint.Equal(at) {
		t.Fatalf("evicted: %s, last checkpoint %v; want pending, keeping %v", j.State, j.LastCheckpoint, at)
	}
	e.pass()
	e.report("n1", running(boss, 0, 1), running(other, 0, 1))
	e.report("n1", exited(boss, 0, 1, 0), running(other, 0, 1))
	e.pass()
	if j := e.job(saver); j.State != api.StateRunning || j.Attempt != 2 || j.LastCheckpoint != nil {
		t.Errorf("restarted: %s attempt %d, last checkpoint %v; want running attempt 2 without one", j.State, j.Attempt, j.LastCheckpoint)
	}
}

// The last checkpoint is stored with the job: a server restarted on the
// same store shows it and hands it to the core, which preempts the job
// that reported it, as the server before would have.
func TestCheckpointSurvivesARestart(t *testing.T) {
	e := devEnv(t)
	saver, other := twoEqualJobs(e)
	later(e, time.Hour, saver, other)
	at := recorded(e, saver)
	e.s.store.Close()

	e = openEnv(t, e.dir, DevFacility("local", "FR"), true, e.clock)
	if j := e.job(saver); j.LastCheckpoint == nil || !j.LastCheckpoint.Equal(at) {
		t.Fatalf("after the restart: last checkpoint %v, want %v", j.LastCheckpoint, at)
	}
	later(e, 10*time.Minute, saver, other)
	wantVictim(e, saver, other, "which checkpointed before the restart")
}

// On PostgreSQL the next leader reads the last checkpoint the one
// before recorded, and costs the jobs by it.
func TestCheckpointSurvivesAFailover(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	leader := pgLeaders(t, clk)
	e := leader()
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register: %d", code)
	}
	saver, other := twoEqualJobs(e)
	later(e, time.Hour, saver, other)
	at := recorded(e, saver)
	e.s.Retire()

	e = leader()
	e.agentsBack()
	if j := e.job(saver); j.LastCheckpoint == nil || !j.LastCheckpoint.Equal(at) {
		t.Fatalf("at the next leader: last checkpoint %v, want %v", j.LastCheckpoint, at)
	}
	later(e, 10*time.Minute, saver, other)
	wantVictim(e, saver, other, "which checkpointed at the leader before")
}

// A job that reports a checkpoint every five minutes for a day adds no
// event, so no audit entry: the time is a field of the job, replaced at
// each report.
func TestRoutineCheckpointsAddNoAuditEntry(t *testing.T) {
	signer, v := auditKeys(t)
	e := auditEnv(t, signer)
	e.register("n1", "local", 8)
	saver, other := twoEqualJobs(e)
	later(e, time.Minute, saver, other)
	before, events := e.checkpointNow(v).Size, len(e.jobEvents(saver, ""))
	for range 24 * 12 {
		later(e, 5*time.Minute, saver, other)
		checkpoint(e, saver, nil)
	}
	if after := e.checkpointNow(v).Size; after != before {
		t.Errorf("the audit log grew from %d to %d entries over a day of checkpoints every 5 minutes; want no entry", before, after)
	}
	if n := len(e.jobEvents(saver, "")); n != events {
		t.Errorf("the job's events went from %d to %d; want none added", events, n)
	}
	if j := e.job(saver); j.LastCheckpoint == nil || !j.LastCheckpoint.Equal(e.clock.now()) {
		t.Errorf("last checkpoint %v, want the last one, %v", j.LastCheckpoint, e.clock.now().UTC())
	}
}

// A task that reports checkpoints in a loop costs no write per report:
// one within minCheckpointGap of the last one recorded changes nothing
// (200, the last one kept, in memory and in the store); the next report
// after the gap is recorded. The victim is then costed from a time at
// most that gap older than its latest save.
func TestCheckpointsInALoopAreRecordedOncePerGap(t *testing.T) {
	e := devEnv(t)
	saver, other := twoEqualJobs(e)
	later(e, time.Hour, saver, other)
	first := recorded(e, saver)
	for range 5 {
		e.clock.add(minCheckpointGap / 10)
		if at := recorded(e, saver); !at.Equal(first) {
			t.Fatalf("a report %v after the last recorded one moved it to %v; want it kept at %v",
				e.clock.now().Sub(first), at, first)
		}
	}
	d, err := e.s.store.Job(context.Background(), saver)
	if err != nil || d.LastCheckpoint == nil || !d.LastCheckpoint.Equal(first) {
		t.Fatalf("the stored job's last checkpoint: %v, %v; want %v", d.LastCheckpoint, err, first)
	}
	e.clock.add(first.Add(minCheckpointGap).Sub(e.clock.now()))
	if at := recorded(e, saver); !at.Equal(e.clock.now()) {
		t.Errorf("a report a whole gap later: %v, want it recorded at %v", at, e.clock.now().UTC())
	}
}

// A checkpoint naming a replica the job does not run is refused, naming
// replica, rather than read as one that stays: it would record a
// checkpoint where an acknowledgement was meant.
func TestCheckpointOfAReplicaTheJobLacksIsRefused(t *testing.T) {
	e := devEnv(t)
	saver, other := twoEqualJobs(e)
	later(e, time.Hour, saver, other)
	for _, n := range []int{1, 99, -1} {
		var p api.Problem
		if code := e.do("POST", "/v1/jobs/"+saver+"/checkpoint", api.CheckpointAck{Replica: &n}, &p); code != http.StatusBadRequest ||
			len(p.Errors) != 1 || p.Errors[0].Field != "replica" {
			t.Errorf("replica %d of a job of one replica: %d %+v; want 400 naming replica", n, code, p)
		}
	}
	if g := e.job(saver); g.LastCheckpoint != nil {
		t.Errorf("a refused report recorded a checkpoint at %v", g.LastCheckpoint)
	}
	zero := 0
	if code := e.do("POST", "/v1/jobs/"+saver+"/checkpoint", api.CheckpointAck{Replica: &zero}, nil); code != http.StatusOK {
		t.Errorf("replica 0 of the job: %d, want 200", code)
	}
}
