package server

import (
	"net/http"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// While some of a deployment's replicas leave for a partial preemption,
// a checkpoint from a replica that stays, which names itself (replica,
// as carnot checkpoint sends $CARNOT_REPLICA), is that replica's routine
// checkpoint: recorded (200), the leaving replicas keeping their grace.
// One from a leaving replica, or one that names none, acknowledges
// their notice as before (202, no grace left). Before, any call
// acknowledged it: a replica that stays, reporting its checkpoints as
// the docs ask, cut short the grace of those leaving before they saved.
func TestCheckpointOfAReplicaThatStays(t *testing.T) {
	e := devEnv(t)
	d, boss := partialPreemption(e)
	graces := func() map[int]float64 {
		out := map[int]float64{}
		for _, tk := range e.tasks("n1") {
			if tk.Job == d.ID && tk.Stop {
				out[tk.Replica] = tk.GraceSeconds
			}
		}
		return out
	}
	before := graces()
	if len(before) != 1 {
		t.Fatalf("stopping replicas %v (%s); want one", before, e.job(boss).Message)
	}
	leaving, stays := -1, -1
	for r := range before {
		leaving = r
	}
	for r := range 4 {
		if r != leaving {
			stays = r
			break
		}
	}
	var got api.Job
	if code := e.do("POST", "/v1/jobs/"+d.ID+"/checkpoint", map[string]any{"replica": stays, "message": "step 9"}, &got); code != http.StatusOK || got.LastCheckpoint == nil {
		t.Errorf("checkpoint of replica %d, which stays: %d, last checkpoint %v; want 200, recorded", stays, code, got.LastCheckpoint)
	}
	if g := graces(); g[leaving] != 60 || len(g) != 1 {
		t.Errorf("after a checkpoint of replica %d, which stays, the stopping replicas are %v; want replica %d with its 60 s", stays, g, leaving)
	}
	if code := e.do("POST", "/v1/jobs/"+d.ID+"/checkpoint", map[string]any{"replica": leaving, "message": "drained"}, &got); code != http.StatusAccepted {
		t.Errorf("ack of replica %d, which leaves: %d; want 202", leaving, code)
	}
	if g := graces(); g[leaving] != 0 || len(g) != 1 {
		t.Errorf("after the ack of replica %d, the stopping replicas are %v; want it with no grace", leaving, g)
	}
}
