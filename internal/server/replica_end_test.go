package server

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A replica's end reads as a sentence in its job's events and message.
func TestReplicaEndWording(t *testing.T) {
	code := 137
	for _, tc := range []struct {
		r    api.Replica
		want string
	}{
		{api.Replica{State: api.ReplicaExited, Signal: "killed", ExitCode: &code}, "ended by a signal (killed)"},
		{api.Replica{State: api.ReplicaExited, Signal: "runtime-limit", ExitCode: &code}, "stopped at its runtime limit"},
		{api.Replica{State: api.ReplicaExited, ExitCode: &code}, "exited with code 137"},
		{api.Replica{State: api.ReplicaLost, Error: "its node stopped reporting"}, "lost: its node stopped reporting"},
	} {
		if got := replicaEnd(&tc.r); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}

// Where a start put its replicas: a node's GPUs, or none.
func TestPlacementsWording(t *testing.T) {
	got := placements([]model.Placement{{Node: "n1", GPUs: []int{0, 1}}, {Node: "n2"}})
	if want := "n1:[0 1] n2 (no GPU)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
