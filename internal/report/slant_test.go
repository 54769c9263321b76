package report

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSlantedLabelsInsideTheChart: with more than ten categories the
// bar chart slants their names, which run down and to the left of the
// bar; the bottom margin held about eight characters, so longer tenant
// or scenario names were cut off at the svg's lower edge (plan.html's
// taller charts only stretched the plot).
func TestSlantedLabelsInsideTheChart(t *testing.T) {
	var cats []string
	vals := make([]float64, 12)
	for i := range 12 {
		cats = append(cats, fmt.Sprintf("research-lab-of-tenant-%02d", i))
		vals[i] = float64(i)
	}
	for _, height := range []int{0, 400} {
		svg := string(BarChart(Chart{Title: "share", Height: height}, cats, Bars{Name: "share", Values: vals}))
		svgOK(t, svg)
		h, _ := strconv.ParseFloat(regexp.MustCompile(`height="([0-9.]+)"`).FindStringSubmatch(svg)[1], 64)
		labels := regexp.MustCompile(`<text x="[0-9.]+" y="([0-9.]+)" class="tick" text-anchor="end" transform="rotate\(-35 [^"]*\)">([^<]*)</text>`).
			FindAllStringSubmatch(svg, -1)
		if len(labels) != len(cats) {
			t.Fatalf("height %d: %d slanted labels, want %d:\n%s", height, len(labels), len(cats), svg)
		}
		for _, m := range labels {
			y, _ := strconv.ParseFloat(m[1], 64)
			if low := y + tickCharW*float64(len(m[2]))*math.Sin(35*math.Pi/180); low > h {
				t.Errorf("height %d: label %q reaches y = %.0f, below the chart's %v px", height, m[2], low, h)
			}
		}
		if bars := strings.Count(svg, `class="bar"`); bars != 12 {
			t.Errorf("height %d: %d bars", height, bars)
		}
	}
}

// TestSlantedLabelsInsideOnTheLeft: the first category's slanted name
// runs left of its bar; a long one started left of the svg and was cut.
func TestSlantedLabelsInsideOnTheLeft(t *testing.T) {
	var cats []string
	vals := make([]float64, 12)
	for i := range 12 {
		cats = append(cats, fmt.Sprintf("research-lab-of-tenant-%02d", i))
		vals[i] = 1
	}
	svg := string(BarChart(Chart{Title: "share"}, cats, Bars{Name: "share", Values: vals}))
	svgOK(t, svg)
	m := regexp.MustCompile(`<text x="([0-9.]+)" y="[0-9.]+" class="tick" text-anchor="end" transform="rotate\(-35 [^"]*\)">([^<]*)</text>`).
		FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("no slanted label:\n%s", svg)
	}
	x, _ := strconv.ParseFloat(m[1], 64)
	if left := x - tickCharW*float64(len(m[2]))*math.Cos(35*math.Pi/180); left < 0 {
		t.Errorf("label %q starts at x = %.0f, left of the chart", m[2], left)
	}
}

// TestLongNamesSlantedUnderTen: fewer than ten categories whose names are
// wider than their group were drawn side by side, over each other (the
// eight scenarios of examples/plan/pools.yaml in plan.html, seen in a
// browser); they are slanted. Short names stay level.
func TestLongNamesSlantedUnderTen(t *testing.T) {
	long := []string{"capped+uncapped-hall", "capped+hall-100kW", "capped+hall-80kW", "capped+hall-60kW",
		"uncapped+uncapped-hall", "uncapped+hall-100kW", "uncapped+hall-80kW", "uncapped+hall-60kW"}
	vals := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	svg := string(BarChart(Chart{Title: "mean JCT"}, long, Bars{Name: "mean JCT", Values: vals}))
	svgOK(t, svg)
	if n := strings.Count(svg, `transform="rotate(-35 `); n != len(long) {
		t.Errorf("%d of %d long names slanted", n, len(long))
	}
	short := []string{"FIFO", "fair", "deferral"}
	svg = string(BarChart(Chart{Title: "mean JCT"}, short, Bars{Name: "mean JCT", Values: vals[:3]}))
	if strings.Contains(svg, "rotate(-35") {
		t.Error("three short names slanted")
	}
}
