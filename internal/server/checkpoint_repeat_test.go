package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// checkpointEvents counts the job's checkpoint events.
func checkpointEvents(e *env, id string) int {
	var evs api.EventList
	e.do("GET", "/v1/jobs/"+id+"/events", nil, &evs)
	n := 0
	for _, ev := range evs.Events {
		if ev.Type == api.EventCheckpoint {
			n++
		}
	}
	return n
}

// An acknowledgement repeated (a client retrying its POST) changes nothing
// once the replicas are being stopped at once: it is accepted again, but
// records no second checkpoint event, which said "stopping now" twice in
// the job's events and the audit log.
func TestRepeatedCheckpointAckRecordsOneEvent(t *testing.T) {
	t.Run("preempted job", func(t *testing.T) {
		e := devEnv(t)
		victim := e.submit(spec(8, 1, "priority_class", "low", "checkpoint_grace", "60s"))
		e.pass()
		e.report("n1", running(victim, 0, 1))
		e.submit(spec(8, 1, "priority_class", "high"))
		e.pass()
		for i := range 2 {
			if code := e.do("POST", "/v1/jobs/"+victim+"/checkpoint", nil, nil); code != http.StatusAccepted {
				t.Fatalf("ack %d: %d", i+1, code)
			}
			e.clock.add(time.Second)
		}
		if n := checkpointEvents(e, victim); n != 1 {
			t.Errorf("%d checkpoint events after an ack sent twice, want 1", n)
		}
	})
	t.Run("partial preemption", func(t *testing.T) {
		e := devEnv(t)
		d, _ := partialPreemption(e)
		for i := range 2 {
			if code := e.do("POST", "/v1/jobs/"+d.ID+"/checkpoint", nil, nil); code != http.StatusAccepted {
				t.Fatalf("ack %d: %d", i+1, code)
			}
			e.clock.add(time.Second)
		}
		if n := checkpointEvents(e, d.ID); n != 1 {
			t.Errorf("%d checkpoint events after an ack sent twice, want 1", n)
		}
	})
}

// A deployment that a partial preemption leaves running on fewer replicas
// says where it runs now: before, its message still named the replicas it
// had given up ("started on n1:[0 1] n1:[2 3] …") until a later change.
func TestPartialPreemptionMessageNamesTheReplicasLeft(t *testing.T) {
	e := devEnv(t)
	d, _ := partialPreemption(e)
	var gone *api.Replica
	for _, r := range e.job(d.ID).Replicas {
		if r.StopBy != nil {
			gone = &r
		}
	}
	if gone == nil {
		t.Fatalf("no replica leaves: %+v", e.job(d.ID).Replicas)
	}
	e.report("n1", api.TaskStatus{Job: d.ID, Replica: gone.Index, Attempt: 1, State: api.ReplicaExited, Signal: "terminated"})
	j := e.job(d.ID)
	left := fmt.Sprintf("%s:%v", gone.Node, gone.GPUs)
	if j.State != api.StateRunning || !strings.HasPrefix(j.Message, "running 3 of 4 replicas on ") || strings.Contains(j.Message, strings.ReplaceAll(left, ",", " ")) {
		t.Errorf("deployment %s: %q; want running on its 3 replicas left, not on %s", j.State, j.Message, left)
	}
}

// A deployment started with fewer replicas than it asks for (down to its
// min_replicas) says so in its message, which carnot jobs and carnot why
// show: before, "started on n1:[0 1 2 3 4 5 6 7]" alone read as the whole
// deployment running, with nothing saying two replicas still wait.
func TestShortDeploymentMessageSaysHowManyRun(t *testing.T) {
	e := devEnv(t)
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(8, 3, "min_replicas", 1), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	j := e.job(d.ID)
	if j.State != api.StateRunning || !strings.HasPrefix(j.Message, "started 1 of 3 replicas on n1:") || !strings.HasSuffix(j.Message, "; the others wait for room") {
		t.Errorf("deployment %s: %q; want it to say 1 of 3 replicas run", j.State, j.Message)
	}
	e.report("n1", running(d.ID, 0, 1))
	if j := e.job(d.ID); !strings.Contains(j.Message, " 1 of 3 replicas on n1:") {
		t.Errorf("running deployment: %q; want it to say 1 of 3 replicas run", j.Message)
	}
}

// The note of an acknowledgement is a line of text kept in the job's
// events and the audit log for good: one of control characters (an
// escape sequence for the terminals that print events) or of more than
// 1 KiB (up to the body's 1 MiB before) is refused, naming message, and
// changes nothing.
func TestCheckpointAckNoteIsALine(t *testing.T) {
	e := devEnv(t)
	victim := e.submit(spec(8, 1, "priority_class", "low", "checkpoint_grace", "60s"))
	e.pass()
	e.report("n1", running(victim, 0, 1))
	e.submit(spec(8, 1, "priority_class", "high"))
	e.pass()
	for _, note := range []string{"saved\x1b[31m", "a\nb", strings.Repeat("x", 1025)} {
		var p api.Problem
		if code := e.do("POST", "/v1/jobs/"+victim+"/checkpoint", api.CheckpointAck{Message: note}, &p); code != http.StatusBadRequest ||
			len(p.Errors) != 1 || p.Errors[0].Field != "message" {
			t.Errorf("note %.20q: %d %+v; want 400 naming message", note, code, p)
		}
	}
	if n := checkpointEvents(e, victim); n != 0 {
		t.Errorf("%d checkpoint events after refused acknowledgements", n)
	}
	if code := e.do("POST", "/v1/jobs/"+victim+"/checkpoint", api.CheckpointAck{Message: "saved step 1200 to /ckpt/é"}, nil); code != http.StatusAccepted {
		t.Errorf("a plain note: %d", code)
	}
}
