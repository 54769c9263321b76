package sim

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// A node failure at the very second a job on it completes does not kill
// the job: its work is done by then, so it completes, loses nothing and
// is not run again. (The failure is drawn at the start, before the job's
// completion is queued, so it comes first among the events of that
// instant.)
func TestFailureAtCompletionDoesNotKill(t *testing.T) {
	const seed, mtbf = 7, 5 * model.Hour
	// The first failure of the only node, drawn as Run draws it.
	first := (&twin{rng: rand.New(rand.NewPCG(seed, 0xfa11))}).draw(mtbf)
	jobs := []*model.Job{job("a", "acme", "normal", 1, 8, t0, first)}
	var log bytes.Buffer
	res, err := Run(Config{Facility: facility(1), Jobs: jobs, Seed: seed, MTBF: mtbf, MTTR: model.Hour,
		CheckpointInterval: 7 * model.Minute}, &log)
	if err != nil {
		t.Fatal(err)
	}
	a := res.Jobs[0]
	if a.End != t0.Add(first) || a.Failures != 0 || a.LostGPUSeconds != 0 || len(a.Runs) != 1 {
		t.Errorf("a ends %s after its submit (want %s), failures %d, lost %g GPU-s, %d runs; want it done at the failure, unharmed\n%s",
			a.End.Sub(t0), first, a.Failures, a.LostGPUSeconds, len(a.Runs), log.String())
	}
}

// A node failure at the very second a preempted job's notice ends does
// not take the eviction's place: the job is evicted, as the core planned
// (a preemption, its GPUs claimed for the beneficiary), and only then
// does the node fail, whichever of the two events was queued first.
func TestFailureAtEvictionLetsItEvict(t *testing.T) {
	const seed, mtbf = 7, 5 * model.Hour
	first := (&twin{rng: rand.New(rand.NewPCG(seed, 0xfa11))}).draw(mtbf)
	a := job("a", "acme", "normal", 1, 8, t0, 10*model.Hour)
	h := job("h", "beta", "high", 1, 8, t0.Add(first-a.CheckpointGrace), model.Hour)
	var log bytes.Buffer
	res, err := Run(Config{Facility: facility(1), Jobs: []*model.Job{a, h}, Seed: seed, MTBF: mtbf, MTTR: model.Hour,
		CheckpointInterval: 7 * model.Minute}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "preempt a for h") {
		t.Fatalf("h did not preempt a; the test needs it to:\n%s", log.String())
	}
	if ra := res.Jobs[0]; ra.Preemptions != 1 || ra.Failures != 0 {
		t.Errorf("a: %d preemptions, %d failures; want the eviction due at the failure's second to count, not the failure\n%s",
			ra.Preemptions, ra.Failures, log.String())
	}
}

// A node failure at the second the workload's last events happen comes
// after them, and so does not happen: failures stop once the workload's
// events are over, even when the failure was queued before the
// completions of that second (here n1's, drawn at the start, before the
// completions of a on n1 and b on n2).
func TestFailureAfterTheLastCompletionsDoesNotHappen(t *testing.T) {
	const mtbf = 5 * model.Hour
	seed := int64(0)
	var first model.Duration
	for s := int64(1); seed == 0; s++ { // a seed where n1 fails before n2
		tw := &twin{rng: rand.New(rand.NewPCG(uint64(s), 0xfa11))}
		if d1, d2 := tw.draw(mtbf), tw.draw(mtbf); d1 < d2 {
			seed, first = s, d1
		}
	}
	jobs := []*model.Job{job("a", "acme", "normal", 1, 8, t0, first), job("b", "beta", "normal", 1, 8, t0, first)}
	var log bytes.Buffer
	res, err := Run(Config{Facility: facility(2), Jobs: jobs, Seed: seed, MTBF: mtbf, MTTR: model.Hour}, &log)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range res.Jobs {
		if j.End != t0.Add(first) || j.Failures != 0 {
			t.Errorf("%s ends %s after its submit with %d failures; want %s and none\n%s", j.Job.ID, j.End.Sub(t0), j.Failures, first, log.String())
		}
	}
	if len(res.Outages) != 0 || strings.Contains(log.String(), "node-fail") {
		t.Errorf("outages %v; want none: the workload's events were over\n%s", res.Outages, log.String())
	}
}
