package report

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A bar chart with a value that is not a number draws no bar for it and
// keeps its axis: no attribute of the svg holds NaN or Inf, which
// browsers refuse.
func TestBarChartNonFinite(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		svg := string(BarChart(Chart{Title: "bars", Rules: []Rule{{Y: 100, Label: "limit"}}}, []string{"a", "b", "c"},
			Bars{Name: "v", Values: []float64{40, bad, 60}}))
		svgOK(t, svg)
		for _, s := range []string{"NaN", "Inf"} {
			if strings.Contains(svg, `="`+s) || strings.Contains(svg, " "+s) || strings.Contains(svg, ">"+s) {
				t.Errorf("value %g: the svg holds %s:\n%s", bad, s, svg)
			}
		}
		if n := strings.Count(svg, `class="bar"`); n != 2 {
			t.Errorf("value %g: %d bars, want 2 (a and c)", bad, n)
		}
	}
}

// A rule that is not a number is left out; the chart is still drawn.
func TestRuleNonFinite(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1)} {
		svg := string(LineChart(Chart{Title: "line", Rules: []Rule{{Y: bad, Label: "odd"}, {Y: 5, Label: "limit"}}},
			Series{Name: "s", X: []float64{0, 1, 2}, Y: []float64{1, 2, 3}}))
		svgOK(t, svg)
		if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") || strings.Count(svg, `class="rule"`) != 1 {
			t.Errorf("rule %g:\n%s", bad, svg)
		}
	}
}

// A zero on a log x axis (a job that completed in the second it was
// submitted) sits at the left edge of an axis drawn from the positive
// values; it stretched the axis down to 1e-9, thirteen decades, the
// lowest ticks all labelled "0" and the real values squeezed right.
func TestLogAxisIgnoresZeroForItsRange(t *testing.T) {
	svg := string(CDFChart(Chart{Title: "JCT", LogX: true}, Sample{Name: "JCT", Values: []float64{0, 100, 1000}}))
	svgOK(t, svg)
	var xticks []string
	for _, m := range regexp.MustCompile(`y="231.0" class="tick" text-anchor="(?:middle|start|end)">([^<]*)</text>`).FindAllStringSubmatch(svg, -1) {
		xticks = append(xticks, m[1])
	}
	if diff := cmp.Diff([]string{"100", "1000"}, xticks); diff != "" {
		t.Errorf("x ticks (-want +got):\n%s", diff)
	}
	if !strings.Contains(svg, `M64.0 `) {
		t.Errorf("the zero is not at the left edge:\n%s", svg)
	}
}

// A run shorter than a few minutes still has a time axis with ticks: a
// 40-second run had none, the smallest step being a minute.
func TestShortRunTimeTicks(t *testing.T) {
	start := float64(time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC).Unix())
	svg := string(LineChart(Chart{Title: "u", XTime: true, XFrom: start, XTo: start + 40},
		Series{Name: "u", X: []float64{start}, Y: []float64{1}, Step: true}))
	svgOK(t, svg)
	var xticks []string
	for _, m := range regexp.MustCompile(`y="231.0" class="tick" text-anchor="(?:middle|start|end)">([^<]*)</text>`).FindAllStringSubmatch(svg, -1) {
		xticks = append(xticks, m[1])
	}
	if diff := cmp.Diff([]string{"00:00:10", "00:00:15", "00:00:20", "00:00:25", "00:00:30", "00:00:35", "00:00:40", "00:00:45", "00:00:50"}, xticks); diff != "" {
		t.Errorf("x ticks of a 40 s run (-want +got):\n%s", diff)
	}
}
