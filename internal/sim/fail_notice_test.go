package sim

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestFailureInNoticeClaimsForBeneficiary: a node failure strictly inside
// a victim's preemption notice kills the victim, and its GPUs on the
// nodes still up are claimed for its beneficiary, as an eviction's are
// (and as the live server claims them whenever a victim's run ends): h
// preempted v (n2 and n3) and starts on n3 when n2 fails, before x,
// of a higher priority, that arrives then. Unclaimed, n3 went to x, and
// h lost the room it had preempted for.
func TestFailureInNoticeClaimsForBeneficiary(t *testing.T) {
	const mtbf = 100 * model.Hour
	var seed int64
	var fail model.Duration // n2's first failure
	for s := int64(1); seed == 0; s++ {
		tw := &twin{rng: rand.New(rand.NewPCG(uint64(s), 0xfa11))}
		d1, d2, d3 := tw.draw(mtbf), tw.draw(mtbf), tw.draw(mtbf)
		if d2 > model.Hour && d1 > d2+20*model.Hour && d3 > d2+20*model.Hour {
			seed, fail = s, d2
		}
	}
	fac := facility(3)
	fac.PriorityClasses = append(fac.PriorityClasses, model.PriorityClass{Name: "top", Value: 200})
	F := t0.Add(fail)
	jobs := []*model.Job{
		job("blk", "beta", "high", 1, 8, t0, 100*model.Hour),
		job("v", "acme", "normal", 2, 8, t0+1, 100*model.Hour),
		job("h", "acme", "high", 1, 8, F.Add(-2*model.Minute), model.Hour),
		job("x", "beta", "top", 1, 8, F, model.Hour),
	}
	var log bytes.Buffer
	res, err := Run(Config{Facility: fac, Jobs: jobs, Seed: seed, MTBF: mtbf, CheckpointInterval: 7 * model.Minute}, &log)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"start v on n2:", "preempt v for h", F.String() + " fail-kill v on n2"} {
		if !strings.Contains(log.String(), want) {
			t.Fatalf("no %q in the log; the test needs it:\n%s", want, log.String())
		}
	}
	if h := res.Jobs[2]; h.FirstStart != F {
		t.Errorf("h first starts at %s, want %s, when the failure kills its victim:\n%s", h.FirstStart, F, log.String())
	}
}
