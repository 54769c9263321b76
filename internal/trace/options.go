package trace

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// Defaults of Options.
const (
	DefaultPriorityClass = "normal"
	DefaultCPUsPerGPU    = 4  // CPUs a replica asks for per GPU
	DefaultMemGiBPerGPU  = 32 // GiB of memory a replica asks for per GPU
)

// Bounds of Options.Scale.
const (
	MinScale = 1e-3
	MaxScale = 1e6
)

// Options shape the jobs a trace reader returns. The zero value reads
// every job unchanged with the defaults above.
type Options struct {
	// Scale multiplies the arrival rate: submit times are compressed
	// towards the first arrival (of the jobs in Window) by 1/Scale, and
	// rounded down to the second; a job's EarliestStart and Deadline,
	// where set, move with its submit time. Run times are not scaled. 0 means 1;
	// a value in (0, 1) spreads arrivals out. At least MinScale, at most
	// MaxScale.
	Scale float64
	// Window keeps the jobs submitted in [From, To), in the trace's own
	// times (before Scale). A zero bound is open.
	Window Window
	// Sample keeps a deterministic subset of the jobs.
	Sample Sample
	// TenantPrefix is put before each VC id to make the tenant name, so
	// that VC "6214e9" becomes tenant TenantPrefix+"6214e9".
	TenantPrefix string
	// PriorityClass of every job; "" means DefaultPriorityClass.
	PriorityClass string
	// CPUsPerGPU and MemGiBPerGPU size each replica's CPUs and memory in
	// proportion to its GPUs; 0 means DefaultCPUsPerGPU and
	// DefaultMemGiBPerGPU.
	CPUsPerGPU   int
	MemGiBPerGPU int
	// GPUModels the jobs accept; empty means any. The jobs share the
	// slice: treat it as read-only.
	GPUModels []string
}

// Window is a half-open interval of submit times; a zero bound is open.
type Window struct {
	From, To model.Time
}

// contains reports whether t lies in the window.
func (w Window) contains(t model.Time) bool {
	return (w.From == 0 || t >= w.From) && (w.To == 0 || t < w.To)
}

// Sample keeps each job whose hash of (Seed, row number) falls under
// Fraction. Which rows are kept depends only on the seed, the fraction
// and each row's number: never on the order of reads or on other rows,
// and a larger fraction keeps a superset. Fraction 0 (the zero value)
// keeps every job.
type Sample struct {
	Fraction float64 // in (0, 1]
	Seed     uint64
}

// keeps reports whether the row with the given number is sampled.
func (s Sample) keeps(row int) bool {
	if s.Fraction == 0 || s.Fraction >= 1 {
		return true
	}
	return unitHash(s.Seed, uint64(row)) < s.Fraction
}

// unitHash maps (seed, x) to [0, 1) with the SplitMix64 finaliser.
func unitHash(seed, x uint64) float64 {
	z := seed ^ (x+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// check validates the options and fills in the defaults.
func (o Options) check() (Options, error) {
	var bad []string
	if o.Scale != 0 && !(o.Scale >= MinScale && o.Scale <= MaxScale) {
		bad = append(bad, fmt.Sprintf("Scale %g must be an arrival-rate multiplier from %g to %g (0 means 1)", o.Scale, MinScale, MaxScale))
	}
	if o.Window.From < 0 || o.Window.To < 0 || o.Window.To != 0 && o.Window.To <= o.Window.From {
		bad = append(bad, fmt.Sprintf("Window [%d, %d) is empty or negative; From must be before To (0 leaves a bound open)", o.Window.From, o.Window.To))
	}
	if !(o.Sample.Fraction >= 0 && o.Sample.Fraction <= 1) {
		bad = append(bad, fmt.Sprintf("Sample.Fraction %g must lie in (0, 1] (0 keeps every job)", o.Sample.Fraction))
	}
	if o.CPUsPerGPU < 0 || o.MemGiBPerGPU < 0 {
		bad = append(bad, "CPUsPerGPU and MemGiBPerGPU must not be negative (0 takes the default)")
	}
	if len(bad) > 0 {
		return o, fmt.Errorf("trace: invalid options: %s", strings.Join(bad, "; "))
	}
	if o.Scale == 0 {
		o.Scale = 1
	}
	o.PriorityClass = cmp.Or(o.PriorityClass, DefaultPriorityClass)
	o.CPUsPerGPU = cmp.Or(o.CPUsPerGPU, DefaultCPUsPerGPU)
	o.MemGiBPerGPU = cmp.Or(o.MemGiBPerGPU, DefaultMemGiBPerGPU)
	return o, nil
}

// apply keeps the jobs of the window and the sample, scales their
// arrivals and sorts them by (SubmitTime, ID). rows[i] is the row number
// of jobs[i]. The anchor of Scale is the first arrival in the window
// before sampling, so a sampled read returns exactly the jobs of the full
// read that the sample keeps.
func (o Options) apply(jobs []*model.Job, rows []int) []*model.Job {
	out := jobs[:0]
	anchor := model.Forever
	for i, j := range jobs {
		if !o.Window.contains(j.SubmitTime) {
			continue
		}
		anchor = min(anchor, j.SubmitTime)
		if o.Sample.keeps(rows[i]) {
			out = append(out, j)
		}
	}
	clear(jobs[len(out):])
	if o.Scale != 1 {
		// a job's earliest start and deadline move with its submit time,
		// so that its window keeps its place and length
		for _, j := range out {
			d := anchor + model.Time(math.Floor(float64(j.SubmitTime-anchor)/o.Scale)) - j.SubmitTime
			j.SubmitTime += d
			// a time before the submit time can fall to 0 ("unset") or
			// below: an earliest start then becomes the submit time (the
			// job could start on submit and still can), a deadline 1 (it
			// was past and still is)
			if j.EarliestStart > 0 {
				if j.EarliestStart += d; j.EarliestStart <= 0 {
					j.EarliestStart = j.SubmitTime
				}
			}
			if j.Deadline > 0 && j.Deadline < model.Forever {
				j.Deadline = max(j.Deadline+d, 1)
			}
		}
	}
	slices.SortFunc(out, func(a, b *model.Job) int {
		return cmp.Or(cmp.Compare(a.SubmitTime, b.SubmitTime), strings.Compare(a.ID, b.ID))
	})
	return out
}

// Shape applies o's Window, Sample and Scale to jobs from any reader (a
// Carnot job file, a generated workload), as the trace readers apply
// them while reading: row numbers are positions in jobs. It returns the
// kept jobs sorted by (SubmitTime, ID); jobs' submit times change in
// place when Scale is not 1. The other options do not apply.
func Shape(jobs []*model.Job, o Options) ([]*model.Job, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	rows := make([]int, len(jobs))
	for i := range rows {
		rows[i] = i + 1
	}
	return o.apply(append([]*model.Job(nil), jobs...), rows), nil
}

// Orphans parts kept, the jobs Shape kept of all, into the jobs to run
// and those to leave out: a job that depends (model.Job.DependsOn) on a
// job of all that Shape left out, or on one left out so in turn, would
// wait for good, and the twin refuses a dependency on a job it does not
// have. why names each left-out job with the first such dependency
// ("c on b"), in kept's order. A dependency on a job all never had is
// kept: it is the file's mistake, for the reader of the run to report.
func Orphans(all, kept []*model.Job) (run []*model.Job, why []string) {
	in := make(map[string]bool, len(all))
	for _, j := range all {
		in[j.ID] = true
	}
	out := make(map[string]bool, len(all)) // left out, by Shape or here
	for id := range in {
		out[id] = true
	}
	for _, j := range kept {
		delete(out, j.ID)
	}
	on := make(map[string]string) // job left out here → the dependency it is left out for
	for changed := true; changed; {
		changed = false
		for _, j := range kept {
			if on[j.ID] != "" {
				continue
			}
			for _, d := range j.DependsOn {
				if in[d.Job] && out[d.Job] {
					on[j.ID], out[j.ID], changed = d.Job, true, true
					break
				}
			}
		}
	}
	if len(on) == 0 {
		return kept, nil
	}
	run = make([]*model.Job, 0, len(kept)-len(on))
	for _, j := range kept {
		if d := on[j.ID]; d != "" {
			why = append(why, j.ID+" on "+d)
		} else {
			run = append(run, j)
		}
	}
	return run, why
}
