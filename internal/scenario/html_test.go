package scenario

import (
	"regexp"
	"strings"
	"testing"
)

func TestCellTextAndDelta(t *testing.T) {
	for v, want := range map[float64]string{278784: "278\u2009784", -1234.4: "-1\u2009234", 100: "100", 25.04: "25.0", 0.8526: "0.853", 0: "0"} {
		if got := cellText(v, false); got != want {
			t.Errorf("cellText(%g) = %q, want %q", v, got, want)
		}
	}
	for _, tc := range []struct {
		v, base float64
		want    string
	}{{90, 100, "-10.0%"}, {110, 100, "+10.0%"}, {5, 5, "="}, {3, 0, "+3"}, {-3, -2, "-50.0%"},
		// a cost below a baseline of 0 (negative day-ahead prices) read "+-3"
		{-3, 0, "-3"},
		// a change too small for one decimal read "-0.0%"
		{99.99, 100, "-<0.1%"}, {100.01, 100, "+<0.1%"}} {
		if got := delta(tc.v, tc.base); got != tc.want {
			t.Errorf("delta(%g, %g) = %q, want %q", tc.v, tc.base, got, tc.want)
		}
	}
}

// TestHTMLCellDigits: counts from 10 to 99 read "52.0" (preemptions,
// deadline misses), and three significant digits lost their trailing
// zeros, so 1.996785 tCO2e read "2" beside "22.0" and "6.46". Counts
// are whole numbers, and values below 10 keep three significant digits.
func TestHTMLCellDigits(t *testing.T) {
	m := Metrics{Finished: 40, Preemptions: 52, DeadlineMisses: 17, EnvelopeViolations: 1, FlexCarbonT: 1.996785, CarbonT: 0.5, JainIndex: 0.9}
	p := Plan{Name: "digits", Baseline: "a", Scenarios: []ScenarioSummary{{Name: "a", Metrics: m}}}
	var h strings.Builder
	if err := p.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"finished": "40", "preemptions": "52", "deadline_misses": "17", "envelope_violations": "1",
		"flex_carbon_tco2e": "2.00", "carbon_tco2e": "0.500", "jain_index": "0.900",
	} {
		re := regexp.MustCompile(`data-key="` + key + `" data-value="[^"]*">([^<]*)<`)
		got := re.FindStringSubmatch(h.String())
		if got == nil || got[1] != want {
			t.Errorf("%s: cell %q, want %q", key, got, want)
		}
	}
}

// TestHTMLChartsLeaveOutFailed: a failed scenario has zero metrics, and
// its bar in every chart read as a real 0 (the cheapest energy cost, no
// wait). The charts leave failed scenarios out; the table marks them.
func TestHTMLChartsLeaveOutFailed(t *testing.T) {
	page := okAndBrokenPage(t, "ok")
	if n := strings.Count(page, ">broken</text>"); n != 0 {
		t.Errorf("the failed scenario is a category of %d charts", n)
	}
	if !strings.Contains(page, ">ok</text>") || !strings.Contains(page, "failed: sim: more than 5 scheduling passes") {
		t.Errorf("the page lost the scenario that ran or the failure:\n%s", page)
	}
}

// TestHTMLBaselineFailed: when the baseline fails, no value has a change
// to show, and the page still said "Under each value, its change from
// the baseline broken" over values without one. It now says that the
// baseline failed and that the values stand alone.
func TestHTMLBaselineFailed(t *testing.T) {
	page := okAndBrokenPage(t, "broken")
	if strings.Contains(page, "its change from the baseline") {
		t.Errorf("the page promises changes from a baseline that failed")
	}
	if want := "The baseline <b>broken</b> failed: the values have no change to show."; !strings.Contains(page, want) {
		t.Errorf("the page does not say %q", want)
	}
	if !strings.Contains(okAndBrokenPage(t, "ok"), "Under each value, its change from the baseline <b>ok</b>.") {
		t.Errorf("a baseline that ran: the page lost its sentence")
	}
}

// okAndBrokenPage is the page of a plan of two scenarios, "ok" and
// "broken" (failed), with baseline the one named.
func okAndBrokenPage(t *testing.T, baseline string) string {
	t.Helper()
	p := Plan{Name: "failed", Baseline: baseline, Scenarios: []ScenarioSummary{
		{Name: "ok", Metrics: Metrics{Finished: 10, CostEUR: 100, JCTMeanS: 3600}},
		{Name: "broken", Error: "sim: more than 5 scheduling passes"},
	}}
	var h strings.Builder
	if err := p.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	return h.String()
}
