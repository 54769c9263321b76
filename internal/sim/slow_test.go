package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
)

// Values the CLI accepts (--cap-exponent 4, --utilization 1,
// --spread-slowdown 0.9999999) slow a capped gang over two racks so much
// that its end lies some 17 million years ahead. The run returns at once
// (the ledger walked every hour up to that end): with a slowdown of
// 0.999 the gang ends some 1,700 years ahead, with its energy all
// unpriced past the grid series; with 0.9999999 its end is past
// 9999-12-31T23:59:59Z, which RFC 3339 cannot write, and the run stops
// with an error that names the gang (until 2026-12-02 it ended in year
// 17,000,000 and wrote that). An exponent past the CLI's range is
// refused.
func TestHugeSlowdownReturns(t *testing.T) {
	fac := facility(2)
	fac.Nodes[0].Rack, fac.Nodes[1].Rack = "r1", "r2"
	fac.Sites[0].PowerEnvelopeKW = 2*1.56 + 16*0.2 // static + 16 GPUs at about 200 W
	cfg := Config{Facility: fac, CapExponent: 4, Utilization: 1,
		Jobs: []*model.Job{job("g", "acme", "normal", 2, 8, t0, 14*model.Day)}}
	run := func(slowdown float64) (*Result, error) {
		cfg.SpreadSlowdown = slowdown
		type result struct {
			res *Result
			err error
		}
		done := make(chan result, 1)
		go func() {
			res, err := Run(cfg, nil)
			done <- result{res, err}
		}()
		select {
		case r := <-done:
			return r.res, r.err
		case <-time.After(time.Minute):
			t.Fatal("the run has not returned after a minute")
		}
		return nil, nil
	}
	res, err := run(0.999)
	if err != nil {
		t.Fatal(err)
	}
	if res.Jobs[0].End == 0 || res.End > model.MaxTime || res.End.Sub(t0) < 1000*365*model.Day {
		t.Errorf("g ends %s, the run %s; want both some 1,700 years ahead", res.Jobs[0].End, res.End)
	}
	if _, err := run(0.9999999); err == nil || !strings.Contains(err.Error(), "sim: job g would end") ||
		!strings.Contains(err.Error(), "after the end of year 9999") {
		t.Errorf("error %v; want the run to stop past year 9999, naming g", err)
	}
	cfg.CapExponent, cfg.SpreadSlowdown = 40, 0
	if _, err := Run(cfg, nil); err == nil {
		t.Error("a capping exponent of 40 was accepted")
	}
}
