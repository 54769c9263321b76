package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// A followed replica is found in its job by its index, not its position:
// a running deployment's record drops its earliest replaced replicas
// (api.MaxReplacedReplicas), so replica 40 may be the second listed.
// Before, a follower of it stopped at once, taking it for ended.
func TestFollowFindsTheReplicaByIndex(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Job{ID: "a", State: api.StateRunning, Attempt: 1, Replicas: []api.Replica{
			{Index: 0, State: api.ReplicaRunning}, {Index: 39, State: api.ReplicaExited, Released: true}, {Index: 40, State: api.ReplicaRunning}}})
	}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for idx, want := range map[int]bool{40: false, 39: true, 7: true, 41: true} {
		f := newLogFollower(c, "a", client.LogOptions{Attempt: 1, Replica: idx}, io.Discard, io.Discard)
		if ended, err := f.replicaEnded(t.Context()); err != nil || ended != want {
			t.Errorf("replica %d: ended %v, %v; want %v", idx, ended, err, want)
		}
	}
}
