package report

import (
	"html/template"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Chart is the frame of a chart: titles, axes, size and decorations.
// Zero values pick defaults; every chart is one self-contained <svg>.
type Chart struct {
	Title          string
	XLabel, YLabel string
	XTime          bool // x values are Unix seconds; ticks are UTC dates
	LogX           bool // x on a log scale (values ≤ 0 sit at the left edge)
	// XFrom..XTo and YFrom..YTo fix a range; when From == To the range
	// comes from the data (y starts at 0 unless a value is negative).
	XFrom, XTo    float64
	YFrom, YTo    float64
	Width, Height int // pixels; default 720×260
	Bands         []Band
	BandLabel     string // legend entry of the bands
	Rules         []Rule
}

// Series is one line of a LineChart.
type Series struct {
	Name  string
	X, Y  []float64
	Step  bool   // each value holds until the next x (the last to the right edge, or StepEnd)
	Dash  bool   // dashed line
	Color string // a palette name (blue, red, green, orange, purple, brown, teal); "" takes the next
	// StepEnd, with Step, is where the last value ends when that is
	// before the right edge: a series that stops before the chart does.
	// At or before the last x it is ignored.
	StepEnd float64
}

// Band shades the x range [From, To] (e.g. when deferred work ran).
type Band struct{ From, To float64 }

// Rule is a horizontal reference line (e.g. a power envelope).
type Rule struct {
	Y     float64
	Label string
}

var palette = []string{"#1f6fb4", "#d1492e", "#2e9c4a", "#e08a14", "#7b52ab", "#8c564b", "#1aa3a3"}

const (
	marginL, marginR, marginT, marginB = 64, 24, 48, 46
	bandFill                           = "#f2c14e"
)

// canvas is a chart being drawn.
type canvas struct {
	b      strings.Builder
	c      Chart
	w, h   int
	x, y   scale
	legend []legendItem
	padB   float64 // room below the bottom margin (for slanted labels)
	padL   float64 // room right of the left margin (for slanted labels)
	// bars are the boxes of the bars drawn, which a rule's label keeps
	// clear of.
	bars []box
}

// box is a rectangle on the canvas, in pixels.
type box struct{ l, r, t, b float64 }

func (a box) meets(c box) bool { return a.l < c.r && c.l < a.r && a.t < c.b && c.t < a.b }

type legendItem struct {
	name, color string
	band, dash  bool
}

func newCanvas(c Chart) *canvas {
	cv := &canvas{c: c, w: c.Width, h: c.Height}
	if cv.w <= 0 {
		cv.w = 720
	}
	if cv.h <= 0 {
		cv.h = 260
	}
	return cv
}

func (cv *canvas) left() float64   { return marginL + cv.padL }
func (cv *canvas) right() float64  { return float64(cv.w - marginR) }
func (cv *canvas) top() float64    { return marginT }
func (cv *canvas) bottom() float64 { return float64(cv.h-marginB) - cv.padB }

// text writes escaped text at (x, y) with extra attributes.
func (cv *canvas) text(x, y float64, attrs, s string) {
	cv.b.WriteString(`<text x="` + px(x) + `" y="` + px(y) + `"` + attrs + `>` + template.HTMLEscapeString(s) + "</text>\n")
}

// open starts the svg and draws the title.
func (cv *canvas) open() {
	w, h := itoa(cv.w), itoa(cv.h)
	title := template.HTMLEscapeString(cv.c.Title)
	cv.b.WriteString(`<svg class="chart" width="` + w + `" height="` + h + `" viewBox="0 0 ` + w + " " + h +
		`" role="img" aria-label="` + title + `">` + "\n<title>" + title + "</title>\n")
	cv.text(cv.left(), 20, ` class="title"`, cv.c.Title)
}

// yAxis sets the y scale over [lo, hi] (widened to round ticks unless
// fixed) and draws its grid and labels.
func (cv *canvas) yAxis(lo, hi float64) {
	var ticks []float64
	if cv.c.YTo > cv.c.YFrom {
		lo, hi = cv.c.YFrom, cv.c.YTo
		_, _, ticks = niceRange(lo, hi, 5)
	} else {
		lo, hi, ticks = niceRange(lo, hi, 5)
	}
	cv.y = newScale(lo, hi, cv.bottom(), cv.top(), false)
	for _, t := range ticks {
		if t < lo-1e-9 || t > hi+1e-9 {
			continue
		}
		y := px(cv.y.at(t))
		cv.b.WriteString(`<line class="grid" x1="` + px(cv.left()) + `" x2="` + px(cv.right()) + `" y1="` + y + `" y2="` + y + "\"/>\n")
		cv.text(cv.left()-6, cv.y.at(t)+4, ` class="tick" text-anchor="end"`, Num(t))
	}
	cv.text(14, (cv.top()+cv.bottom())/2, ` class="label" text-anchor="middle" transform="rotate(-90 14 `+
		px((cv.top()+cv.bottom())/2)+`)"`, cv.c.YLabel)
}

// xAxis sets the x scale over [lo, hi] and draws its ticks and label.
func (cv *canvas) xAxis(lo, hi float64) {
	if cv.c.XTo > cv.c.XFrom {
		lo, hi = cv.c.XFrom, cv.c.XTo
	}
	var ticks []float64
	layout := ""
	switch {
	case cv.c.LogX:
		lo, hi = math.Max(lo, 1e-9), math.Max(hi, lo*10)
		lo, hi = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
		ticks = logTicks(lo, hi)
	case cv.c.XTime:
		if !(hi > lo) {
			hi = lo + 3600
		}
		ticks, layout = timeTicks(lo, hi, 8)
	case cv.c.XTo > cv.c.XFrom:
		_, _, ticks = niceRange(lo, hi, 6)
	default:
		lo, hi, ticks = niceRange(lo, hi, 6)
	}
	cv.x = newScale(lo, hi, cv.left(), cv.right(), cv.c.LogX)
	b := px(cv.bottom())
	cv.b.WriteString(`<line class="axis" x1="` + px(cv.left()) + `" x2="` + px(cv.right()) + `" y1="` + b + `" y2="` + b + "\"/>\n")
	for _, t := range ticks {
		if t < lo || t > hi {
			continue
		}
		label := Num(t)
		if layout != "" {
			label = timeLabel(t, layout)
		}
		x := cv.x.at(t)
		cv.b.WriteString(`<line class="axis" x1="` + px(x) + `" x2="` + px(x) + `" y1="` + b + `" y2="` + px(cv.bottom()+4) + "\"/>\n")
		cv.tickLabel(x, cv.bottom()+17, label)
	}
	cv.text((cv.left()+cv.right())/2, float64(cv.h)-8, ` class="label" text-anchor="middle"`, cv.c.XLabel)
}

// tickCharW is a generous width of a tick label's character (11 px
// digits and dashes are narrower), to keep labels inside the chart.
const tickCharW = 7.0

// tickLabel writes an x tick's label centred under it, or, where half of
// it would stick out of the chart (a date at the axis's right end), flush
// with the chart's edge.
func (cv *canvas) tickLabel(x, y float64, label string) {
	half := tickCharW * float64(len(label)) / 2
	switch {
	case x+half > float64(cv.w)-2:
		cv.text(float64(cv.w)-2, y, ` class="tick" text-anchor="end"`, label)
	case x-half < 2:
		cv.text(2, y, ` class="tick" text-anchor="start"`, label)
	default:
		cv.text(x, y, ` class="tick" text-anchor="middle"`, label)
	}
}

// bands shades the chart's bands, each at least a pixel wide; bands that
// touch once drawn are one rect, so a long run's thousands of short
// stints cost at most one rect per pixel column.
func (cv *canvas) bands() {
	var px0, px1 []float64
	for _, bd := range mergeBands(cv.c.Bands) {
		x0, x1 := cv.x.at(bd.From), cv.x.at(bd.To)
		x1 = math.Max(x1, x0+1)
		if n := len(px0); n > 0 && x0 <= px1[n-1] {
			px1[n-1] = math.Max(px1[n-1], x1)
			continue
		}
		px0, px1 = append(px0, x0), append(px1, x1)
	}
	for i := range px0 {
		cv.b.WriteString(`<rect class="band" x="` + px(px0[i]) + `" y="` + px(cv.top()) + `" width="` + px(px1[i]-px0[i]) +
			`" height="` + px(cv.bottom()-cv.top()) + `" fill="` + bandFill + "\"/>\n")
	}
	if len(cv.c.Bands) > 0 && cv.c.BandLabel != "" {
		cv.legend = append(cv.legend, legendItem{name: cv.c.BandLabel, color: bandFill, band: true})
	}
}

// rules draws the chart's rules.
func (cv *canvas) rules() {
	for _, r := range cv.c.Rules {
		if !finite(r.Y) {
			continue
		}
		y := px(cv.y.at(r.Y))
		cv.b.WriteString(`<line class="rule" x1="` + px(cv.left()) + `" x2="` + px(cv.right()) + `" y1="` + y + `" y2="` + y + "\"/>\n")
		cv.ruleLabel(cv.y.at(r.Y), r.Label)
	}
}

// ruleLabel writes a rule's label by its line at y: at the right end,
// above the line (under it when the line runs along the top), or else
// where its glyphs are clear of every bar: under the line at the right
// end, then above or under it at the left end. Where no place is clear,
// the first.
func (cv *canvas) ruleLabel(y float64, label string) {
	w := tickCharW * float64(len([]rune(label)))
	type place struct {
		x, y   float64
		anchor string
	}
	var places []place
	for _, end := range []place{{cv.right() - 4, 0, ` text-anchor="end"`}, {cv.left() + 4, 0, ""}} {
		if y-4 >= cv.top()+10 { // above the line, unless it runs along the top
			places = append(places, place{end.x, y - 4, end.anchor})
		}
		places = append(places, place{end.x, y + 12, end.anchor})
	}
	at := places[0]
	for _, p := range places {
		g := box{l: p.x, r: p.x + w, t: p.y - 9, b: p.y + 3} // an 11 px label's glyphs about its baseline
		if p.anchor != "" {
			g.l, g.r = p.x-w, p.x
		}
		if !slices.ContainsFunc(cv.bars, g.meets) {
			at = p
			break
		}
	}
	cv.text(at.x, at.y, ` class="tick"`+at.anchor, label)
}

// mergeBands sorts bands and merges those that overlap.
func mergeBands(in []Band) []Band {
	bs := append([]Band(nil), in...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].From < bs[j].From })
	var out []Band
	for _, b := range bs {
		if n := len(out); n > 0 && b.From <= out[n-1].To {
			out[n-1].To = math.Max(out[n-1].To, b.To)
			continue
		}
		out = append(out, b)
	}
	return out
}

// close draws the legend and ends the svg.
func (cv *canvas) close() template.HTML {
	x := cv.right()
	for i := len(cv.legend) - 1; i >= 0; i-- {
		it := cv.legend[i]
		x -= float64(7*len([]rune(it.name)) + 22)
		switch {
		case it.band:
			cv.b.WriteString(`<rect x="` + px(x) + `" y="28" width="12" height="10" fill="` + it.color + "\"/>\n")
		case it.dash:
			cv.b.WriteString(`<line class="key dash" x1="` + px(x) + `" x2="` + px(x+12) + `" y1="33" y2="33" stroke="` + it.color + "\"/>\n")
		default:
			cv.b.WriteString(`<line class="key" x1="` + px(x) + `" x2="` + px(x+12) + `" y1="33" y2="33" stroke="` + it.color + "\"/>\n")
		}
		cv.text(x+16, 37, ` class="tick"`, it.name)
	}
	cv.b.WriteString("</svg>\n")
	return template.HTML(cv.b.String()) // every text and attribute above is escaped or generated
}

func itoa(n int) string { return strconv.Itoa(n) }

// color is the palette colour called name, or the i-th one.
func color(name string, i int) string {
	for k, n := range []string{"blue", "red", "green", "orange", "purple", "brown", "teal"} {
		if name == n {
			return palette[k]
		}
	}
	return palette[i%len(palette)]
}
