package report

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// scale maps a data interval onto a pixel interval, linearly or, with
// log, on log10 of the data.
type scale struct {
	d0, d1, p0, p1 float64
	log            bool
}

func newScale(d0, d1, p0, p1 float64, log bool) scale {
	if log {
		d0, d1 = math.Log10(d0), math.Log10(d1)
	}
	if !(d1 > d0) {
		d1 = d0 + 1
	}
	return scale{d0: d0, d1: d1, p0: p0, p1: p1, log: log}
}

// at is the pixel of v, clamped to the pixel interval.
func (s scale) at(v float64) float64 {
	if s.log {
		v = math.Log10(math.Max(v, math.Pow(10, s.d0)))
	}
	p := s.p0 + (v-s.d0)/(s.d1-s.d0)*(s.p1-s.p0)
	lo, hi := math.Min(s.p0, s.p1), math.Max(s.p0, s.p1)
	return math.Min(hi, math.Max(lo, p))
}

// niceStep is 1, 2 or 5 times a power of ten, at least x.
func niceStep(x float64) float64 {
	if !(x > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= x*(1-1e-9) {
			return f * p
		}
	}
	return 10 * p
}

// niceRange widens [lo, hi] to whole ticks and returns the ticks (about n).
func niceRange(lo, hi float64, n int) (float64, float64, []float64) {
	switch {
	case hi > lo:
	case lo == 0:
		lo, hi = 0, 1
	default:
		d := math.Abs(lo) / 10
		lo, hi = lo-d, lo+d
	}
	step := niceStep((hi - lo) / float64(max(1, n)))
	lo, hi = math.Floor(lo/step+1e-9)*step, math.Ceil(hi/step-1e-9)*step
	var ticks []float64
	for i := 0; ; i++ {
		t := lo + float64(i)*step
		if t > hi+step*1e-9 {
			break
		}
		ticks = append(ticks, math.Round(t/step)*step)
	}
	return lo, hi, ticks
}

// logTicks is the powers of ten in [lo, hi].
func logTicks(lo, hi float64) []float64 {
	var ticks []float64
	for e := math.Ceil(math.Log10(lo) - 1e-9); e <= math.Log10(hi)+1e-9; e++ {
		ticks = append(ticks, math.Pow(10, e))
	}
	return ticks
}

// timeTicks is at most n+1 instants (Unix seconds) in [lo, hi] at a
// round step, with the layout to print them in. Past 364 days the step
// is 364 days times 2, 5, 10, 20, 50, …: with 364 days the longest, a
// run of more than about 8 years had more dates than the axis has room
// for, and they overlapped.
func timeTicks(lo, hi float64, n int) ([]float64, string) {
	steps := []float64{1, 2, 5, 10, 15, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 4 * 86400,
		7 * 86400, 14 * 86400, 28 * 86400, 91 * 86400, 182 * 86400, 364 * 86400}
	if span := hi - lo; !(span >= 0 && span <= math.MaxFloat64) {
		return nil, "2006-01-02" // no span to tick (not finite)
	}
	step := 0.0
	for _, s := range steps {
		if (hi-lo)/s <= float64(n) {
			step = s
			break
		}
	}
	for m := 1.0; step == 0; m *= 10 { // the span is finite: a multiple fits
		for _, k := range []float64{2, 5, 10} {
			if s := k * m * 364 * 86400; (hi-lo)/s <= float64(n) {
				step = s
				break
			}
		}
	}
	layout := "2006-01-02"
	switch {
	case step < 60:
		layout = "15:04:05"
	case step < 86400:
		layout = "01-02 15:04"
	}
	var ticks []float64
	for t := math.Ceil(lo/step) * step; t <= hi; t += step {
		ticks = append(ticks, t)
	}
	return ticks, layout
}

func timeLabel(t float64, layout string) string {
	return time.Unix(int64(t), 0).UTC().Format(layout)
}

// Num formats a number for a label: at most three significant digits
// before a k, M or G suffix, trailing zeros dropped. A number whose
// digits round up to the next suffix takes it (1M, not 1000k); one below
// 1e-6 is written with an exponent (5e-08), as six decimals would read 0.
func Num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	i := 0
	for i+1 < len(suffixes) && math.Abs(v) >= suffixes[i+1].from {
		i++
	}
	s := short(v / suffixes[i].div)
	if i+1 < len(suffixes) {
		if f, _ := strconv.ParseFloat(s, 64); math.Abs(f)*suffixes[i].div >= suffixes[i+1].from {
			i++
			s = short(v / suffixes[i].div)
		}
	}
	return s + suffixes[i].name
}

// suffixes of Num: from where each applies, and what it divides by.
var suffixes = []struct {
	from, div float64
	name      string
}{{0, 1, ""}, {1e4, 1e3, "k"}, {1e6, 1e6, "M"}, {1e9, 1e9, "G"}}

func short(v float64) string {
	a, d := math.Abs(v), 0
	switch {
	case a == 0:
		return "0"
	case a < 1e-6: // six decimals would read 0
		return strconv.FormatFloat(v, 'g', 3, 64)
	case a < 1:
		d = min(6, 2-int(math.Floor(math.Log10(a))))
	case a < 10:
		d = 2
	case a < 100:
		d = 1
	}
	s := strconv.FormatFloat(v, 'f', d, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// px formats a pixel coordinate.
func px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
