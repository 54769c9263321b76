package report

import (
	"regexp"
	"strconv"
	"testing"
)

// TestRuleLabelClearOfBars: a rule's label was always drawn at the right
// end of its line, over the last bars when they reach it (plan.html's
// "peak / envelope" of examples/plan/capacity.yaml, whose last scenario
// runs at 107 % of its envelope, and "peak / hall cap" of hall.yaml, the
// label under a line along the top, over a bar at 92 %). It goes where
// no bar is, at either end of the line, above or under it.
func TestRuleLabelClearOfBars(t *testing.T) {
	cats := []string{"a", "b", "c", "d", "e", "f"}
	for _, c := range []struct {
		name string
		vals []float64
	}{
		{"the last bar over the rule", []float64{85, 100, 100, 100, 87, 107}},
		{"the rule along the top, the last bar under it", []float64{0, 100, 100, 100, 87, 92}},
		{"bars under the rule", []float64{50, 60, 70, 60, 50, 40}},
	} {
		svg := string(BarChart(Chart{Title: "peak / envelope", Rules: []Rule{{Y: 100, Label: "envelope"}}}, cats, Bars{Name: "peak", Values: c.vals}))
		svgOK(t, svg)
		m := regexp.MustCompile(`<text x="([0-9.]+)" y="([0-9.]+)" class="tick"( text-anchor="end")?>envelope</text>`).FindStringSubmatch(svg)
		if m == nil {
			t.Fatalf("%s: no rule label:\n%s", c.name, svg)
		}
		x, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		l, r := x, x+tickCharW*float64(len("envelope"))
		if m[3] != "" {
			l, r = x-tickCharW*float64(len("envelope")), x
		}
		top, bot := y-9, y+3 // an 11 px label's glyphs about its baseline
		for _, b := range regexp.MustCompile(`<rect class="bar" x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)" height="([0-9.]+)"`).FindAllStringSubmatch(svg, -1) {
			bx, _ := strconv.ParseFloat(b[1], 64)
			by, _ := strconv.ParseFloat(b[2], 64)
			bw, _ := strconv.ParseFloat(b[3], 64)
			bh, _ := strconv.ParseFloat(b[4], 64)
			if l < bx+bw && bx < r && top < by+bh && by < bot {
				t.Errorf("%s: the label at %.0f..%.0f × %.0f..%.0f is over the bar at %.0f..%.0f × %.0f..%.0f", c.name, l, r, top, bot, bx, bx+bw, by, by+bh)
			}
		}
	}
}
