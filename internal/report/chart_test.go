package report

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1: "1", 2.5: "2.5", 12.34: "12.3", 999: "999", 1500: "1500",
		25000: "25k", 1.5e6: "1.5M", 2e9: "2G", -0.00123: "-0.00123", 0.5: "0.5", -40: "-40"} {
		if got := Num(v); got != want {
			t.Errorf("Num(%g) = %q, want %q", v, got, want)
		}
	}
}

func TestNiceRange(t *testing.T) {
	for _, c := range []struct {
		lo, hi         float64
		wlo, whi, wstp float64
	}{
		{0, 97, 0, 100, 20}, {0, 24.92, 0, 25, 5}, {-1.07, 222, -50, 250, 50}, {3, 3, 2.6, 3.4, 0.2}, {0, 0, 0, 1, 0.2},
	} {
		lo, hi, ticks := niceRange(c.lo, c.hi, 5)
		if math.Abs(lo-c.wlo) > 1e-9 || math.Abs(hi-c.whi) > 1e-9 || len(ticks) < 2 || math.Abs(ticks[1]-ticks[0]-c.wstp) > 1e-9 {
			t.Errorf("niceRange(%g, %g) = %g, %g, %v; want %g, %g by %g", c.lo, c.hi, lo, hi, ticks, c.wlo, c.whi, c.wstp)
		}
	}
}

// svgOK checks that a chart is one well-formed svg element.
func svgOK(t *testing.T, svg string) {
	t.Helper()
	if strings.Count(svg, "<svg") != 1 || !strings.HasSuffix(strings.TrimSpace(svg), "</svg>") {
		t.Fatalf("not one svg:\n%s", svg)
	}
	parse(t, []byte(svg))
}

func TestLineChartThinsButKeepsPeaks(t *testing.T) {
	var x, y []float64
	for i := range 100_000 {
		x, y = append(x, float64(i)), append(y, float64(i%7))
	}
	y[54_321] = 1000 // a single spike
	svg := string(LineChart(Chart{Title: "spike", Rules: []Rule{{Y: 900, Label: "limit"}}}, Series{Name: "s", X: x, Y: y}))
	svgOK(t, svg)
	if len(svg) > 200_000 {
		t.Errorf("%d bytes for 100,000 points; thinning did not happen", len(svg))
	}
	top := newScale(0, 1000, 260-marginB, marginT, false).at(1000)
	if !strings.Contains(svg, " "+px(top)) {
		t.Errorf("the spike to 1000 (y = %s px) was thinned away", px(top))
	}
}

func TestCDFChart(t *testing.T) {
	svg := string(CDFChart(Chart{Title: "cdf", LogX: true}, Sample{Name: "a", Values: []float64{5, 1, 3, 3, 100}}))
	svgOK(t, svg)
	// four distinct values: a move and three steps, then to the right edge
	d := svg[strings.Index(svg, ` d="`)+4:]
	d = d[:strings.Index(d, `"`)]
	if got := strings.Count(d, "H"); got != 4 {
		t.Errorf("path %q has %d horizontal moves, want 4", d, got)
	}
	svgOK(t, string(CDFChart(Chart{Title: "empty"})))
	nan := string(LineChart(Chart{Title: "non-finite values"}, Series{X: []float64{1, 2, math.NaN()}, Y: []float64{math.Inf(1), 1, 2}}))
	svgOK(t, nan)
	if strings.Contains(nan, "NaN") || strings.Contains(nan, "Inf") {
		t.Errorf("a NaN or an infinity reached the drawing:\n%s", nan)
	}
	svgOK(t, string(CDFChart(Chart{Title: "empty sample", LogX: true}, Sample{Name: "none"})))
}

func TestBarChart(t *testing.T) {
	svg := string(BarChart(Chart{Title: "bars <&>"}, []string{"a", "b", "c"},
		Bars{Name: "x", Values: []float64{1, 2, 3}}, Bars{Name: "y", Values: []float64{3, -1, 0}}))
	svgOK(t, svg)
	if got := strings.Count(svg, `class="bar"`); got != 6 {
		t.Errorf("%d bars, want 6", got)
	}
	if strings.Contains(svg, "<&>") {
		t.Error("title not escaped")
	}
}

func TestChartsAreDeterministic(t *testing.T) {
	draw := func() string {
		var b bytes.Buffer
		b.WriteString(string(LineChart(Chart{XTime: true, Bands: []Band{{3600, 7200}, {0, 4000}}, BandLabel: "b"},
			Series{X: []float64{0, 3600, 86400}, Y: []float64{1, 2, 3}, Step: true})))
		b.WriteString(string(BarChart(Chart{}, []string{"z", "a"}, Bars{Values: []float64{1, 2}})))
		return b.String()
	}
	if d := cmp.Diff(draw(), draw()); d != "" {
		t.Errorf("two drawings differ:\n%s", d)
	}
	if got := mergeBands([]Band{{3, 4}, {0, 1}, {0.5, 2}}); !cmp.Equal(got, []Band{{0, 2}, {3, 4}}) {
		t.Errorf("mergeBands = %v", got)
	}
}

// TestTickLabelsInsideTheChart: a date tick at the right end of the x
// axis was centred on it, so half of "2023-03-24" fell outside the svg
// (clipped in every time chart of a run that ends on a tick). Every
// tick label lies inside the chart, its width taken at 7 px a character
// (11 px digits are narrower).
func TestTickLabelsInsideTheChart(t *testing.T) {
	lo := float64(time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC).Unix())
	hi := float64(time.Date(2023, 3, 24, 0, 0, 0, 0, time.UTC).Unix())
	svg := string(LineChart(Chart{XTime: true}, Series{X: []float64{lo, hi}, Y: []float64{1, 2}}))
	re := regexp.MustCompile(`<text x="([0-9.]+)" y="[0-9.]+" class="tick"( text-anchor="(\w+)")?>([^<]*)</text>`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		w := 7 * float64(len(m[4]))
		from, to := x, x+w // text-anchor start
		switch m[3] {
		case "middle":
			from, to = x-w/2, x+w/2
		case "end":
			from, to = x-w, x
		}
		if from < 0 || to > 720 {
			t.Errorf("tick %q spans x %.0f to %.0f, outside the chart's 0 to 720", m[4], from, to)
		}
		n++
	}
	if !strings.Contains(svg, ">2023-03-24</text>") || n < 5 {
		t.Fatalf("%d tick labels, want the last on 2023-03-24:\n%s", n, svg)
	}
}

// TestEmptyChartAxes: with nothing to draw (a run where no job
// finished, or one without duration) the JCT CDF's log axis ran from
// 1e-9 to 1 and labelled its ticks "0", and a time axis started at
// 1970-01-01 ("01-01 00:00") instead of the run's start.
func TestEmptyChartAxes(t *testing.T) {
	ticks := func(svg string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`class="tick" text-anchor="(?:middle|start|end)">([^<]*)</text>`).FindAllStringSubmatch(svg, -1) {
			out = append(out, m[1])
		}
		return out
	}
	cdf := string(CDFChart(Chart{Title: "JCT", LogX: true}, Sample{Name: "JCT"}))
	if n := strings.Count(cdf, `>0</text>`); n != 1 { // the y axis's 0
		t.Errorf("the empty log axis labels ticks 0: %v", ticks(cdf))
	}
	start := float64(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC).Unix())
	line := string(LineChart(Chart{Title: "power", XTime: true, XFrom: start, XTo: start}, Series{Name: "IT draw"}))
	if !strings.Contains(line, ">01-05 08:00</text>") || strings.Contains(line, ">01-01 00:00</text>") {
		t.Errorf("the time axis of a run without duration at 2026-01-05T08:00 has ticks %v", ticks(line))
	}
}
