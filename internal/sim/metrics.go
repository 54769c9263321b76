package sim

import (
	"math"
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// The metrics below are pure functions of a Result (and the facility it
// ran on), computed after the run. Definitions are in docs/twin.md,
// section "summary.json".

// SlowdownThreshold is τ of the bounded slowdown, in seconds: jobs
// shorter than this count as this long, so tiny jobs do not dominate.
const SlowdownThreshold = 10

// MaxTimelinePoints bounds the samples of a Timeline.
const MaxTimelinePoints = 500

// interval is a half-open stretch of virtual time [a, b).
type interval struct{ a, b model.Time }

// runIntervals is the union of a job's stints, sorted: when it held GPUs
// (a job on several sites at once has one stint per site).
func runIntervals(j *JobRecord) []interval {
	iv := make([]interval, 0, len(j.Runs))
	for _, s := range j.Runs {
		iv = append(iv, interval{s.Start, s.End})
	}
	return union(iv)
}

// union merges overlapping or touching intervals; it sorts iv in place.
func union(iv []interval) []interval {
	sort.Slice(iv, func(x, y int) bool { return iv[x].a < iv[y].a || iv[x].a == iv[y].a && iv[x].b < iv[y].b })
	out := iv[:0]
	for _, x := range iv {
		if n := len(out); n > 0 && x.a <= out[n-1].b {
			out[n-1].b = max(out[n-1].b, x.b)
			continue
		}
		out = append(out, x)
	}
	return out
}

// queuedIntervals is when a job waited: from its submission until it
// finished (for ever if it never did), minus the time it ran.
func queuedIntervals(j *JobRecord) []interval {
	stop := model.Forever
	if j.End > 0 {
		stop = j.End
	}
	var out []interval
	from := j.Job.SubmitTime
	for _, r := range runIntervals(j) {
		if r.a > from {
			out = append(out, interval{from, min(r.a, stop)})
		}
		from = max(from, r.b)
	}
	if from < stop {
		out = append(out, interval{from, stop})
	}
	return out
}

// TimelineStep is the sampling step for a run of the given span: the
// smallest of 1 s, 2 s, 5 s, 10 s, 15 s, 30 s, 1, 2, 5, 10, 15 and 30
// min, 1, 2, 3, 6 and 12 h, then whole days, that cuts the span into at
// most maxPoints windows.
func TimelineStep(span model.Duration, maxPoints int) model.Duration {
	maxPoints = max(1, maxPoints)
	for _, s := range []model.Duration{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
		3600, 7200, 10800, 21600, 43200} {
		if windows(span, s) <= maxPoints {
			return s
		}
	}
	days := (span + model.Day*model.Duration(maxPoints) - 1) / (model.Day * model.Duration(maxPoints))
	return max(1, days) * model.Day
}

func windows(span, step model.Duration) int {
	if span <= 0 {
		return 0
	}
	return int((span + step - 1) / step)
}

// NewTimeline samples r on at most maxPoints windows.
func NewTimeline(fac *model.Facility, r *Result, maxPoints int) Timeline {
	span := r.End.Sub(r.Start)
	step := TimelineStep(span, maxPoints)
	n := windows(span, step)
	tl := Timeline{Start: r.Start.String(), StartUnix: int64(r.Start), StepSeconds: int64(step), Points: n,
		Utilization: make([]float64, n), Queue: make([]int, n), SitePowerKW: map[string][]float64{}}
	if n == 0 {
		return tl
	}
	at := func(k int) model.Time { return r.Start + model.Time(k)*model.Time(step) }
	busy := make([]float64, n) // GPU-seconds per window
	queue := make([]int, n+1)  // difference array over sample instants
	// first is the first sample instant at or after t.
	first := func(t model.Time) int {
		if t <= r.Start {
			return 0
		}
		return int(min(int64(n), (int64(t-r.Start)+int64(step)-1)/int64(step)))
	}
	for i := range r.Jobs {
		j := &r.Jobs[i]
		for _, s := range j.Runs {
			a, b := max(s.Start, r.Start), min(s.End, r.End)
			for k := int(a-r.Start) / int(step); k < n && at(k) < b; k++ {
				busy[k] += float64(s.GPUs) * float64(min(b, at(k+1))-max(a, at(k)))
			}
		}
		for _, q := range queuedIntervals(j) {
			queue[first(q.a)]++
			queue[first(q.b)]--
		}
	}
	total := float64(totalGPUs(fac))
	c := 0
	for k := range n {
		c += queue[k]
		tl.Queue[k] = c
		if length := min(r.End, at(k+1)) - at(k); total > 0 && length > 0 {
			tl.Utilization[k] = round(busy[k] / (total * float64(length)))
		}
	}
	for site, p := range SitePower(fac, r) {
		kw := make([]float64, n)
		for k := range n {
			kw[k] = round(p.Max(at(k), min(r.End, at(k+1))) / 1000)
		}
		tl.SitePowerKW[site] = kw
	}
	return tl
}

func totalGPUs(fac *model.Facility) int {
	n := 0
	for i := range fac.Nodes {
		n += max(0, fac.Nodes[i].GPUs)
	}
	return n
}

// MeanUtilization is the GPU-seconds jobs held over the GPU-seconds the
// facility had during [Start, End).
func MeanUtilization(fac *model.Facility, r *Result) float64 {
	span, total := float64(r.End-r.Start), float64(totalGPUs(fac))
	if span <= 0 || total <= 0 {
		return 0
	}
	return DeliveredGPUSeconds(r) / (span * total)
}

// DeliveredGPUSeconds is the GPU-seconds all jobs held.
func DeliveredGPUSeconds(r *Result) float64 {
	s := 0.0
	for i := range r.Jobs {
		s += gpuSeconds(&r.Jobs[i])
	}
	return s
}

func gpuSeconds(j *JobRecord) float64 {
	s := 0.0
	for _, st := range j.Runs {
		s += float64(st.GPUs) * float64(st.End-st.Start)
	}
	return s
}

// CompletionTimes is every finished job's completion time (end − submit),
// in seconds, in workload order.
func CompletionTimes(r *Result) []float64 {
	var v []float64
	for _, j := range r.Jobs {
		if j.FirstStart > 0 && j.End > 0 {
			v = append(v, float64(j.End-j.Job.SubmitTime))
		}
	}
	return v
}

// BoundedSlowdowns is every finished job's bounded slowdown,
// max(1, (end − submit) / max(run, τ)), where run is its run time at
// full speed (RuntimeLimit, which the twin takes as the true duration).
func BoundedSlowdowns(r *Result, tau float64) []float64 {
	var v []float64
	for _, j := range r.Jobs {
		if j.FirstStart == 0 || j.End == 0 {
			continue
		}
		v = append(v, math.Max(1, float64(j.End-j.Job.SubmitTime)/math.Max(float64(j.Job.RuntimeLimit), tau)))
	}
	return v
}

// DeadlineMisses counts the jobs with a deadline and those of them that
// ended after it or never ended.
func DeadlineMisses(r *Result) (withDeadline, missed int) {
	for _, j := range r.Jobs {
		if j.Job.Deadline <= 0 {
			continue
		}
		withDeadline++
		if j.End == 0 || j.End > j.Job.Deadline {
			missed++
		}
	}
	return withDeadline, missed
}

// PowerSeries is a site's IT draw over [Start, End) as a step function:
// Watts[i] from Times[i] until Times[i+1] (the last one until End). It is
// rebuilt from the jobs' stints: the static draw (every node's base power
// and every GPU's idle power) plus the BusyW of every stint running, less
// the static draw of the nodes down (Result.Outages).
type PowerSeries struct {
	StaticW float64
	Times   []model.Time
	Watts   []float64
	End     model.Time
}

// Max is the highest draw during [a, b) (0 if that is outside the run).
func (p PowerSeries) Max(a, b model.Time) float64 {
	if b = min(b, p.End); a >= b {
		return 0
	}
	i := sort.Search(len(p.Times), func(i int) bool { return p.Times[i] > a }) - 1
	i = max(i, 0)
	w := 0.0
	for ; i < len(p.Times) && p.Times[i] < b; i++ {
		w = max(w, p.Watts[i])
	}
	return w
}

// Peak is the highest draw of the run; it equals the ledger's MaxITW
// (but for a run of no length: 0 here, the idle draw there).
func (p PowerSeries) Peak() float64 {
	if len(p.Times) == 0 {
		return 0
	}
	return p.Max(p.Times[0], p.End)
}

// StaticWatts is each site's draw with every GPU idle.
func StaticWatts(fac *model.Facility) map[string]float64 {
	return staticBy(fac, func(n *model.Node) string { return n.Site })
}

// HallStaticWatts is each hall's draw with every GPU idle, by hall ID.
func HallStaticWatts(fac *model.Facility) map[string]float64 {
	return staticBy(fac, func(n *model.Node) string { return n.Hall })
}

// staticBy sums the nodes' draw with every GPU idle by the group of.
func staticBy(fac *model.Facility, of func(*model.Node) string) map[string]float64 {
	w := map[string]float64{}
	for i := range fac.Nodes {
		w[of(&fac.Nodes[i])] += fac.NodeWatts(&fac.Nodes[i], false)
	}
	return w
}

// SitePower is every site's draw over the run, by site ID.
func SitePower(fac *model.Facility, r *Result) map[string]PowerSeries {
	type delta struct {
		t model.Time
		w float64
	}
	static := StaticWatts(fac)
	deltas := map[string][]delta{}
	for i := range r.Jobs {
		for _, s := range r.Jobs[i].Runs {
			a, b := max(s.Start, r.Start), min(s.End, r.End)
			if a < b {
				deltas[s.Site] = append(deltas[s.Site], delta{a, s.BusyW}, delta{b, -s.BusyW})
			}
		}
	}
	for _, o := range r.Outages {
		if a, b := max(o.Start, r.Start), min(o.End, r.End); a < b {
			deltas[o.Site] = append(deltas[o.Site], delta{a, -o.StaticW}, delta{b, o.StaticW})
		}
	}
	out := map[string]PowerSeries{}
	for _, site := range fac.Sites {
		p := PowerSeries{StaticW: static[site.ID], End: r.End}
		if r.End > r.Start {
			d := deltas[site.ID]
			sort.SliceStable(d, func(x, y int) bool { return d[x].t < d[y].t })
			busy := 0.0
			p.Times, p.Watts = []model.Time{r.Start}, []float64{p.StaticW}
			for k := 0; k < len(d); {
				t := d[k].t
				for ; k < len(d) && d[k].t == t; k++ {
					busy += d[k].w
				}
				if t >= r.End {
					break
				}
				if n := len(p.Times); p.Times[n-1] == t {
					p.Watts[n-1] = p.StaticW + busy
				} else {
					p.Times, p.Watts = append(p.Times, t), append(p.Watts, p.StaticW+busy)
				}
			}
		}
		out[site.ID] = p
	}
	return out
}
