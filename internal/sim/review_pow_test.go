package sim

import (
	"fmt"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestRepairsKeepTheEnvelope: with node failures, a tight envelope (the
// four nodes' idle draw plus room for eight GPUs at TDP) and more work
// than fits, the site must never draw more than its envelope. The core
// counted a failed node as drawing nothing and gave its base and idle
// power to work on the other nodes; when the node came back, the site
// drew 12,120 W against an 11,280 W envelope.
func TestRepairsKeepTheEnvelope(t *testing.T) {
	f := facility(4)
	f.Sites[0].PowerEnvelopeKW = 4*(1.0+8*0.07) + 8*0.63
	f.Policy.PowerCapping = false
	var jobs []*model.Job
	for i := range 60 {
		jobs = append(jobs, job(fmt.Sprintf("j%02d", i), "acme", "normal", 1, 1, t0.Add(model.Duration(i)*10*model.Minute), 3*model.Hour))
	}
	res, err := Run(Config{Facility: f, Jobs: jobs, Seed: 1, MTBF: 4 * model.Hour, MTTR: model.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kills := 0
	for _, j := range res.Jobs {
		kills += j.Failures
	}
	if kills == 0 {
		t.Fatal("no node failure hit a job; the test does not exercise repairs")
	}
	if w, env := res.Sites["par"].MaxITW, f.Sites[0].PowerEnvelopeKW*1000; w > env+1e-6 {
		t.Fatalf("the site drew %.0f W, above its %.0f W envelope", w, env)
	}
}
