package sim

import (
	"bytes"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestDeploymentVictimCostedOnCheckpoint pins what docs/twin.md says of
// a deployment taken whole by a preemption: the twin hands the core
// every running job's last checkpoint (a multiple of --checkpoint since
// its start), deployments included, so the core ranks a deployment as a
// victim by its GPU-time since that checkpoint, as a training job, while
// the twin then charges it no lost work. d, a deployment started at 0,
// and t, a training job started at 0:40, run on the two nodes; h needs
// a node at 1:10 (d: 10 minutes since its checkpoint, t: 30) or at 1:55
// (d: 55, t: 15). At 1:10 d goes and loses nothing; at 1:55 t goes and
// loses its 20 minutes (15 and its 5 minutes of grace), though d would
// have lost nothing.
func TestDeploymentVictimCostedOnCheckpoint(t *testing.T) {
	for _, c := range []struct {
		at             model.Duration
		victim, spared string
		lostT          float64 // GPU-seconds
	}{
		{at: 70 * model.Minute, victim: "d", spared: "t"},
		// evicted at 2:00, after its 5 minutes of grace: 20 minutes lost
		{at: 115 * model.Minute, victim: "t", spared: "d", lostT: 8 * 20 * 60},
	} {
		d := job("d", "acme", "normal", 1, 8, t0, 10*model.Hour)
		d.Kind = model.KindDeployment
		tr := job("t", "beta", "normal", 1, 8, t0.Add(40*model.Minute), 10*model.Hour)
		h := job("h", "beta", "high", 1, 8, t0.Add(c.at), model.Hour)
		var log bytes.Buffer
		res, err := Run(Config{Facility: facility(2), Jobs: []*model.Job{d, tr, h}, CheckpointInterval: model.Hour}, &log)
		if err != nil {
			t.Fatal(err)
		}
		got := log.String()
		if !strings.Contains(got, "preempt "+c.victim+" for h") || strings.Contains(got, "preempt "+c.spared+" ") {
			t.Errorf("h at %s: want %s preempted, %s spared:\n%s", c.at, c.victim, c.spared, got)
		}
		if res.Jobs[0].LostGPUSeconds != 0 || res.Jobs[1].LostGPUSeconds != c.lostT {
			t.Errorf("h at %s: d lost %g GPU-s, t %g; want %g, %g:\n%s", c.at,
				res.Jobs[0].LostGPUSeconds, res.Jobs[1].LostGPUSeconds, 0.0, c.lostT, got)
		}
	}
}
