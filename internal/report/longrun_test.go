package report

import (
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"
)

// TestLongRunDateTicksDoNotOverlap: the longest step of a time axis was
// 364 days, so a run of more than about 8 years had more ticks than the
// axis has room for and their dates overlapped (a 30-year run, 31 dates
// on 620 px). The step grows in whole multiples of it; x tick labels,
// 7 px a character, never overlap, up to a run of 1,000 years.
func TestLongRunDateTicksDoNotOverlap(t *testing.T) {
	lo := float64(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	re := regexp.MustCompile(`<text x="([0-9.]+)" y="231.0" class="tick"( text-anchor="(\w+)")?>([^<]*)</text>`)
	for _, years := range []float64{1, 7, 8.5, 9, 12, 20, 30, 75, 200, 1000} {
		hi := lo + years*365.25*86400
		svg := string(LineChart(Chart{XTime: true}, Series{X: []float64{lo, hi}, Y: []float64{1, 2}}))
		type span struct{ from, to float64 }
		var spans []span
		for _, m := range re.FindAllStringSubmatch(svg, -1) {
			x, _ := strconv.ParseFloat(m[1], 64)
			w := 7 * float64(len(m[4]))
			s := span{x - w/2, x + w/2}
			switch m[3] {
			case "start":
				s = span{x, x + w}
			case "end":
				s = span{x - w, x}
			}
			spans = append(spans, s)
		}
		if len(spans) < 2 {
			t.Fatalf("%g years: %d x tick labels, want at least 2:\n%s", years, len(spans), svg)
		}
		sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
		for i := 1; i < len(spans); i++ {
			if spans[i].from < spans[i-1].to {
				t.Errorf("%g years: %d tick labels, two overlap (x %.0f–%.0f and %.0f–%.0f)", years, len(spans),
					spans[i-1].from, spans[i-1].to, spans[i].from, spans[i].to)
				break
			}
		}
	}
}
