package report

import (
	"strings"
	"testing"
)

// Many short bands (the stints of deferred jobs over a long run) are
// drawn as at most one rect per pixel column: the chart's size is bound
// by its width, not by the number of stints.
func TestManyBandsBoundedByWidth(t *testing.T) {
	const start = 1767225600.0
	var bands []Band
	for i := range 100_000 {
		from := start + float64(i)*600
		bands = append(bands, Band{From: from, To: from + 60})
	}
	end := bands[len(bands)-1].To
	svg := string(LineChart(Chart{Title: "price", XTime: true, XFrom: start, XTo: end, Bands: bands, BandLabel: "deferred"},
		Series{Name: "price", X: []float64{start, end}, Y: []float64{10, 20}, Step: true}))
	svgOK(t, svg)
	if n, w := strings.Count(svg, `class="band"`), 720-marginL-marginR; n > w {
		t.Errorf("%d band rects on a plot %d px wide (%d bytes)", n, w, len(svg))
	}
	// A band wider than a pixel still shows where it starts and ends.
	svg = string(LineChart(Chart{Title: "p", XFrom: 0, XTo: 100, Bands: []Band{{From: 10, To: 20}, {From: 50, To: 60}}},
		Series{X: []float64{0, 100}, Y: []float64{1, 1}}))
	if n := strings.Count(svg, `class="band"`); n != 2 {
		t.Errorf("two distinct bands drew %d rects", n)
	}
}
