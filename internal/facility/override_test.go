package facility

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

func TestOverridePolicy(t *testing.T) {
	p, err := OverridePolicy(model.DefaultPolicy(), "--policy", []string{"backfill=true", "reservation=false",
		"order=shortest-first", "fair_share=false", "fair_share_half_life=3d", "preemption_rate_limit={max: 4, window: 2h}"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Backfill || !p.NoReservation || p.Order != model.OrderShortestFirst || p.FairShare ||
		p.FairShareHalfLife != 3*model.Day || p.PreemptionRateLimit != 4 || p.PreemptionWindow != 2*model.Hour {
		t.Fatalf("overrides not applied: %+v", p)
	}
	if p, err := OverridePolicy(model.DefaultPolicy(), "--policy", []string{"victim_ratio=16", "reclaim_min_run=2h"}); err != nil ||
		p.VictimRatio != 16 || p.ReclaimMinRun != 2*model.Hour {
		t.Fatalf("preemption bounds not applied: %+v, %v", p, err)
	}
	if p, err := OverridePolicy(model.DefaultPolicy(), "--policy", []string{"victim_ratio=0", "reclaim_min_run=0"}); err != nil ||
		p.VictimRatio != 0 || p.ReclaimMinRun != 0 {
		t.Fatalf("preemption bounds not turned off: %+v, %v", p, err)
	}
	base := model.DefaultPolicy()
	base.Deferral = false
	if p, _ := OverridePolicy(base, "--policy", []string{"quotas=false"}); p.Deferral || p.Quotas {
		t.Fatalf("the base policy is not kept: %+v", p)
	}
	for _, tc := range []struct {
		settings []string
		want     string
	}{
		{[]string{"backfill"}, `--policy:1: "backfill": want key=value`},
		{[]string{"backfill=true", "order=lifo"}, `--policy:2: policy.order: unknown order "lifo"; use fifo or shortest-first`},
		{[]string{"backfil=false"}, `--policy:1: policy.backfil: unknown field`},
		{[]string{"carbon_weight=2"}, `--policy:1: policy.carbon_weight:`},
		{[]string{"sovereignty=false"}, `sovereignty cannot be turned off`},
		{[]string{"victim_ratio=-1"}, `--policy:1: policy.victim_ratio:`},
		{[]string{"reclaim_min_run=soon"}, `--policy:1: policy.reclaim_min_run: "soon" is not a duration; write e.g. 30m, 2h or 1d, or 0 to turn it off`},
		{[]string{"reclaim_min_run=-5m"}, `--policy:1: policy.reclaim_min_run: "-5m" is not a duration`},
	} {
		_, err := OverridePolicy(model.DefaultPolicy(), "--policy", tc.settings)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.settings, err, tc.want)
		}
	}
}
