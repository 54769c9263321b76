package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/carnot-dc/carnot/internal/api"
)

// testLastCheckpoint checks that a running job's last checkpoint, which
// the server writes with the job alone (no event) each time the job
// reports one, is kept as written last, in UTC to the nanosecond, and
// survives a reopening: a restarted server, or the next leader, hands it
// to the scheduler again.
func testLastCheckpoint(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	open := newDB(t)
	s := openStore(t, open)
	j := newJob("r", "acme", 0)
	create(t, s, j)
	j.State, j.Attempt, j.StartTime = api.StateRunning, 1, ptr(at(time.Minute))
	j.Replicas = []api.Replica{{Node: "n1", GPUs: []int{0, 1}, State: api.ReplicaRunning, PID: 7}}
	started := api.Event{Time: at(time.Minute), Job: "r", Tenant: "acme", Type: api.EventStarted, Message: "attempt 1 on n1:[0 1]"}
	if err := s.Update(ctx, []*api.Job{j}, []api.Event{started}); err != nil {
		t.Fatalf("Update(start): %v", err)
	}
	for _, d := range []time.Duration{time.Hour, 2*time.Hour + time.Nanosecond} {
		j.LastCheckpoint = ptr(at(d)) // base's zone, not UTC
		if err := s.Update(ctx, []*api.Job{j}, nil); err != nil {
			t.Fatalf("Update(last checkpoint %s): %v", d, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = openStore(t, open)
	got, err := s.Job(ctx, "r")
	if err != nil {
		t.Fatalf("Job(r) after reopening: %v", err)
	}
	want := at(2*time.Hour + time.Nanosecond)
	if c := got.LastCheckpoint; c == nil || !c.Equal(want) || c.Location() != time.UTC {
		t.Errorf("Job(r).LastCheckpoint after reopening = %v; want %v, in UTC", c, want.UTC())
	}
	active, err := s.Active(ctx)
	if err != nil || len(active) != 1 || active[0].LastCheckpoint == nil || !active[0].LastCheckpoint.Equal(want) {
		t.Errorf("Active after reopening = %+v, %v; want r with its last checkpoint %v", active, err, want.UTC())
	}
	// The checkpoints wrote the job alone: its events are its
	// submission and its start.
	evs := allEvents(t, s)
	if diff := cmp.Diff([]api.Event{*submitted(newJob("r", "acme", 0)), started}, evs, cmpopts.IgnoreFields(api.Event{}, "Seq")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
