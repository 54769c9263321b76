package scenario

import (
	"regexp"
	"strings"
	"testing"
)

// TestHTMLCappedFollowsDelivered: the page's "of which capped" column
// stood after "of which work at full speed", itself part of "GPU-hours
// while jobs arrive", so it read as part of those; it is part of all the
// GPU-hours delivered, and under a tight envelope it was twice the
// window's (152,071 "of which capped" beside 61,559 while jobs arrive).
// Each "of which" column follows the column it is part of.
func TestHTMLCappedFollowsDelivered(t *testing.T) {
	p := Plan{Name: "order", Baseline: "a", Scenarios: []ScenarioSummary{{Name: "a", Metrics: Metrics{GPUHours: 10}}}}
	var h strings.Builder
	if err := p.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range regexp.MustCompile(`<th class="m" data-key="([^"]+)">`).FindAllStringSubmatch(h.String(), -1) {
		keys = append(keys, m[1])
	}
	for part, whole := range map[string]string{"capped_gpu_hours": "gpu_hours", "work_gpu_hours_window": "gpu_hours_window"} {
		for i, k := range keys {
			if k == part && (i == 0 || keys[i-1] != whole) {
				t.Errorf("column %s follows %s, want %s: %v", part, keys[max(0, i-1)], whole, keys)
			}
		}
	}
}
