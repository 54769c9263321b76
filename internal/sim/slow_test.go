package sim

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
)

// Values the CLI accepts (--cap-exponent 4, --utilization 1,
// --spread-slowdown 0.9999999) slow a capped gang over two racks so much
// that its end lies some 17 million years ahead. The run still returns
// at once (the ledger walked every hour up to that end), with the
// gang's energy all unpriced past the grid series; an exponent past the
// CLI's range is refused.
func TestHugeSlowdownReturns(t *testing.T) {
	fac := facility(2)
	fac.Nodes[0].Rack, fac.Nodes[1].Rack = "r1", "r2"
	fac.Sites[0].PowerEnvelopeKW = 2*1.56 + 16*0.2 // static + 16 GPUs at about 200 W
	cfg := Config{Facility: fac, CapExponent: 4, Utilization: 1, SpreadSlowdown: 0.9999999,
		Jobs: []*model.Job{job("g", "acme", "normal", 2, 8, t0, 14*model.Day)}}
	done := make(chan *Result, 1)
	go func() {
		res, err := Run(cfg, nil)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	select {
	case res := <-done:
		if res != nil && (res.Jobs[0].End == 0 || res.End.Sub(t0) < model.Duration(1e14)) {
			t.Errorf("g ends %s, the run %s; want both ages ahead", res.Jobs[0].End, res.End)
		}
	case <-time.After(time.Minute):
		t.Fatal("the run has not returned after a minute")
	}
	cfg.CapExponent = 40
	if _, err := Run(cfg, nil); err == nil {
		t.Error("a capping exponent of 40 was accepted")
	}
}
