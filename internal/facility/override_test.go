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
	} {
		_, err := OverridePolicy(model.DefaultPolicy(), "--policy", tc.settings)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.settings, err, tc.want)
		}
	}
}
