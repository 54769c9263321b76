package report

import (
	"html/template"
	"math"
	"sort"
	"strings"
	"unicode/utf8"
)

// LineChart draws series of (x, y) points, as lines or steps, over the
// chart's bands and rules. Long series are thinned to the highest and
// lowest point of each pixel column, so the shape (and every peak) stays.
func LineChart(c Chart, series ...Series) template.HTML {
	cv := newCanvas(c)
	cv.open()
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), 0.0, math.Inf(-1)
	for _, s := range series {
		for i := range min(len(s.X), len(s.Y)) {
			if !finite(s.X[i]) || !finite(s.Y[i]) {
				continue
			}
			if !c.LogX || s.X[i] > 0 { // on a log axis, x ≤ 0 sits at the left edge of the positive range
				xlo, xhi = math.Min(xlo, s.X[i]), math.Max(xhi, s.X[i])
			}
			ylo, yhi = math.Min(ylo, s.Y[i]), math.Max(yhi, s.Y[i])
		}
	}
	for _, r := range c.Rules {
		if finite(r.Y) {
			ylo, yhi = math.Min(ylo, r.Y), math.Max(yhi, r.Y)
		}
	}
	if math.IsInf(xlo, 0) { // nothing to draw: an axis that still reads right
		switch {
		case c.LogX:
			xlo, xhi = 1, 10
		case c.XTime && c.XFrom > 0:
			xlo, xhi = c.XFrom, c.XFrom // xAxis widens it to an hour
		default:
			xlo, xhi = 0, 1
		}
	}
	if math.IsInf(yhi, 0) {
		yhi = 1
	}
	cv.yAxis(ylo, yhi)
	cv.xAxis(xlo, xhi)
	cv.bands()
	cv.rules()
	for i, s := range series {
		col := color(s.Color, i)
		cls := "line"
		if s.Dash {
			cls = "line dash"
		}
		if d := cv.path(s); d != "" {
			cv.b.WriteString(`<path class="` + cls + `" stroke="` + col + `" d="` + d + "\"/>\n")
		}
		if s.Name != "" {
			cv.legend = append(cv.legend, legendItem{name: s.Name, color: col, dash: s.Dash})
		}
	}
	return cv.close()
}

// path is the SVG path of a series on the canvas's scales.
func (cv *canvas) path(s Series) string {
	n := min(len(s.X), len(s.Y))
	xs, ys := make([]float64, 0, n), make([]float64, 0, n)
	last := math.Inf(-1) // the last x drawn, in data units
	for i := range n {
		if finite(s.X[i]) && finite(s.Y[i]) {
			xs, ys = append(xs, cv.x.at(s.X[i])), append(ys, cv.y.at(s.Y[i]))
			last = s.X[i]
		}
	}
	if len(xs) == 0 {
		return ""
	}
	xs, ys = thin(xs, ys)
	var b strings.Builder
	b.WriteString("M" + px(xs[0]) + " " + px(ys[0]))
	for i := 1; i < len(xs); i++ {
		if s.Step {
			b.WriteString("H" + px(xs[i]) + "V" + px(ys[i]))
		} else {
			b.WriteString("L" + px(xs[i]) + " " + px(ys[i]))
		}
	}
	if s.Step {
		end := cv.right()
		if s.StepEnd > last {
			end = cv.x.at(s.StepEnd) // clamped to the right edge
		}
		b.WriteString("H" + px(end))
	}
	return b.String()
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// thin keeps, of the points that fall in one pixel column, the first,
// the highest, the lowest and the last, in order.
func thin(xs, ys []float64) ([]float64, []float64) {
	if len(xs) < 2000 {
		return xs, ys
	}
	var ox, oy []float64
	for i := 0; i < len(xs); {
		j, col := i, math.Floor(xs[i])
		lo, hi := i, i
		for ; j < len(xs) && math.Floor(xs[j]) == col; j++ {
			if ys[j] < ys[lo] {
				lo = j
			}
			if ys[j] > ys[hi] {
				hi = j
			}
		}
		keep := []int{i, lo, hi, j - 1}
		sort.Ints(keep)
		for k, idx := range keep {
			if k == 0 || idx != keep[k-1] {
				ox, oy = append(ox, xs[idx]), append(oy, ys[idx])
			}
		}
		i = j
	}
	return ox, oy
}

// Sample is one distribution of a CDFChart.
type Sample struct {
	Name   string
	Values []float64
	Color  string
}

// CDFChart draws the empirical cumulative distribution of each sample:
// the fraction of values at or below x (at most 1,000 steps each).
func CDFChart(c Chart, samples ...Sample) template.HTML {
	c.YFrom, c.YTo = 0, 1
	series := make([]Series, 0, len(samples))
	for _, s := range samples {
		v := append([]float64(nil), s.Values...)
		sort.Float64s(v)
		out := Series{Name: s.Name, Step: true, Color: s.Color}
		n := len(v)
		m := min(n, 1000)
		for k := 1; k <= m; k++ {
			i := k*n/m - 1
			if m == n && i+1 < n && v[i+1] == v[i] {
				continue // one step per distinct value
			}
			out.X, out.Y = append(out.X, v[i]), append(out.Y, float64(i+1)/float64(n))
		}
		series = append(series, out)
	}
	return LineChart(c, series...)
}

// Bars is one series of a BarChart: a value per category.
type Bars struct {
	Name   string
	Values []float64
	Color  string
}

// BarChart draws grouped bars: for each category, one bar per series.
func BarChart(c Chart, categories []string, series ...Bars) template.HTML {
	cv := newCanvas(c)
	n := 0 // the longest name, in characters
	for _, cat := range categories {
		n = max(n, utf8.RuneCountInString(cat))
	}
	// Names are slanted when there are many, or when the longest is wider
	// than its group less a gap: side by side, they would run into each
	// other (eight plan scenarios of 20 characters did, in a browser).
	group := (cv.right() - cv.left()) / float64(max(1, len(categories)))
	rotate := len(categories) > 10 || tickCharW*float64(n) > group-6
	if rotate { // names slanted at 35° run down from 12 px under the axis
		if need := 12 + tickCharW*float64(n)*math.Sin(35*math.Pi/180) + 4; need > marginB {
			cv.padB = math.Ceil(need - marginB)
			if c.Height <= 0 {
				cv.h += int(cv.padB) // the default height keeps its plot
			}
		}
		// and left from the middle of the first group: left + (right-left)/2k ≥ 2 + their run
		k := 2 * float64(len(categories))
		if l := (2 + tickCharW*float64(n)*math.Cos(35*math.Pi/180) - cv.right()/k) / (1 - 1/k); l > marginL {
			cv.padL = math.Ceil(l - marginL)
		}
	}
	cv.open()
	ylo, yhi := 0.0, 0.0
	for _, s := range series {
		for _, v := range s.Values {
			if finite(v) {
				ylo, yhi = math.Min(ylo, v), math.Max(yhi, v)
			}
		}
	}
	for _, r := range c.Rules {
		if finite(r.Y) {
			ylo, yhi = math.Min(ylo, r.Y), math.Max(yhi, r.Y)
		}
	}
	cv.yAxis(ylo, yhi)
	b := px(cv.bottom())
	cv.b.WriteString(`<line class="axis" x1="` + px(cv.left()) + `" x2="` + px(cv.right()) + `" y1="` + b + `" y2="` + b + "\"/>\n")
	group = (cv.right() - cv.left()) / float64(max(1, len(categories)))
	bar := group * 0.8 / float64(max(1, len(series)))
	for ci, cat := range categories {
		x0 := cv.left() + float64(ci)*group + group*0.1
		for si, s := range series {
			if ci >= len(s.Values) || !finite(s.Values[ci]) {
				continue // no bar where there is no number
			}
			y, zero := cv.y.at(s.Values[ci]), cv.y.at(0)
			cv.bars = append(cv.bars, box{l: x0 + float64(si)*bar, r: x0 + float64(si+1)*bar, t: math.Min(y, zero), b: math.Max(y, zero)})
			cv.b.WriteString(`<rect class="bar" x="` + px(x0+float64(si)*bar) + `" y="` + px(math.Min(y, zero)) +
				`" width="` + px(bar) + `" height="` + px(math.Abs(zero-y)) + `" fill="` + color(s.Color, si) + `"><title>` +
				template.HTMLEscapeString(cat+", "+s.Name+": "+Num(s.Values[ci])) + "</title></rect>\n")
		}
		cx := x0 + group*0.4
		if rotate {
			cv.text(cx, cv.bottom()+12, ` class="tick" text-anchor="end" transform="rotate(-35 `+px(cx)+" "+
				px(cv.bottom()+12)+`)"`, cat)
		} else {
			cv.text(cx, cv.bottom()+17, ` class="tick" text-anchor="middle"`, cat)
		}
	}
	if c.XLabel != "" {
		cv.text((cv.left()+cv.right())/2, float64(cv.h)-8, ` class="label" text-anchor="middle"`, c.XLabel)
	}
	cv.rules()
	for i, s := range series {
		cv.legend = append(cv.legend, legendItem{name: s.Name, color: color(s.Color, i), band: true})
	}
	return cv.close()
}
