package sim

import (
	"bytes"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestDeploymentLosesNoWork: a deployment (long-running inference) has no
// training progress to lose. Evicted 90 minutes into a 2 h run with
// checkpoints every hour, it loses nothing (its lost GPU-hours stay 0,
// where the 30 minutes since its "checkpoint" were counted) and has the
// 30 minutes it had not served yet left, not 1 h; a training job in its
// place loses the 30 minutes and has 1 h left.
func TestDeploymentLosesNoWork(t *testing.T) {
	for _, kind := range []model.Kind{model.KindDeployment, model.KindJob} {
		d := job("d", "acme", "normal", 1, 8, t0, 2*model.Hour)
		d.Kind = kind
		h := job("h", "beta", "high", 1, 8, t0.Add(85*model.Minute), model.Hour)
		var log bytes.Buffer
		res, err := Run(Config{Facility: facility(1), Jobs: []*model.Job{d, h}, CheckpointInterval: model.Hour}, &log)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "evict d") {
			t.Fatalf("%s: d was not evicted; the test needs it:\n%s", kind, log.String())
		}
		r := res.Jobs[0]
		// evicted at 1h30, h runs to 2h30, then d's last 30m (a job's last 1h)
		wantLost, wantEnd := 0.0, t0.Add(3*model.Hour)
		if kind == model.KindJob {
			wantLost, wantEnd = 8*30*60.0, t0.Add(210*model.Minute)
		}
		if r.LostGPUSeconds != wantLost || r.End != wantEnd {
			t.Errorf("%s: lost %g GPU-s, ends %s; want %g GPU-s, %s:\n%s", kind, r.LostGPUSeconds, r.End, wantLost, wantEnd, log.String())
		}
	}
}
