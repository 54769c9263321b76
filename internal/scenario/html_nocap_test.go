package scenario

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHTMLNoCapIsNoValue: the page showed "peak / hall cap" as 0 for a
// scenario whose facility caps no hall, where the table carnot plan
// prints shows "-", and a scenario with a capped hall then read as a
// change from that 0 ("66.2 +66.2"). A scenario with no capped hall (or
// rack) now shows "-" in that column, and a change is shown only between
// two scenarios that both have one; plan.json keeps its documented 0.
func TestHTMLNoCapIsNoValue(t *testing.T) {
	halls := func(capKW, ratio float64) []HallPower {
		return []HallPower{{ID: "par1/h1", Site: "par1", MaxITkW: 53, CapKW: capKW, PeakOverCap: ratio}}
	}
	racks := []RackPower{{ID: "par1/h1/r1", Hall: "par1/h1", Site: "par1", MaxITkW: 40, CapKW: 61, PeakOverCap: 40.0 / 61}}
	p := Plan{Name: "caps", Baseline: "base", Scenarios: []ScenarioSummary{
		{Name: "base", Metrics: Metrics{GPUHours: 1}, Halls: halls(0, 0)},
		{Name: "hall80", Metrics: Metrics{GPUHours: 1, PeakOverHallCap: 53.0 / 80, PeakOverRackCap: 40.0 / 61}, Halls: halls(80, 53.0/80), Racks: racks},
		{Name: "hall70", Metrics: Metrics{GPUHours: 1, PeakOverHallCap: 53.0 / 70}, Halls: halls(70, 53.0/70)},
	}}
	cells := func(baseline string) map[string][]string {
		p.Baseline = baseline
		var h strings.Builder
		if err := p.WriteHTML(&h); err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, key := range []string{"peak_over_hall_cap", "peak_over_rack_cap"} {
			re := regexp.MustCompile(`data-key="` + key + `" data-value="[^"]*">(.*?)</td>`)
			for _, m := range re.FindAllStringSubmatch(h.String(), -1) {
				out[key] = append(out[key], m[1])
			}
		}
		return out
	}
	for baseline, want := range map[string]map[string][]string{
		"base":   {"peak_over_hall_cap": {"-", "66.2", "75.7"}, "peak_over_rack_cap": {"-", "65.6", "-"}},
		"hall80": {"peak_over_hall_cap": {"-", "66.2", "75.7<small>&#43;14.3%</small>"}, "peak_over_rack_cap": {"-", "65.6", "-"}},
	} {
		if diff := cmp.Diff(want, cells(baseline)); diff != "" {
			t.Errorf("baseline %s: cells (-want +got):\n%s", baseline, diff)
		}
	}
}
