package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sim"
	"github.com/carnot-dc/carnot/internal/trace"
)

// simModel is what `carnot sim` takes beyond its inputs: policy overrides,
// the workload's shaping and the twin's progress model.
type simModel struct {
	policy         []string
	seed           int64
	checkpoint     string
	mtbf, mttr     string
	gpuMTBF        string
	gpuMTTR        string
	capExp, spread float64
	rate, sample   float64
	window         string
	utilization    float64
	depth          int
	fullEvery      string
	passEvery      string
	maxPasses      int
}

func (m *simModel) register(f *pflag.FlagSet) {
	f.StringArrayVar(&m.policy, "policy", nil, "override a policy setting as key=value, keys as in the facility's policy: section (e.g. backfill=false, order=shortest-first); repeatable, each key once")
	f.Int64Var(&m.seed, "seed", 1, "seed of every random choice (sampling, node and GPU failures)")
	f.StringVar(&m.checkpoint, "checkpoint", "1h", "how often running jobs save progress; a preempted or failed job resumes from its last checkpoint")
	f.Float64Var(&m.capExp, "cap-exponent", 0.5, "power-capping slowdown: a GPU capped below its uncapped draw runs at (cap/draw)^x of full speed")
	f.Float64Var(&m.spread, "spread-slowdown", 0, "share of speed a gang loses when it spans more than one leaf switch, in [0, 1)")
	f.Float64Var(&m.utilization, "utilization", 0.8, "share of TDP a busy, uncapped GPU draws, in (0, 1]")
	f.StringVar(&m.mtbf, "mtbf", "", "mean time between failures of each node (e.g. 30d); none when empty or 0")
	f.StringVar(&m.mttr, "mttr", "4h", "mean time to repair a failed node, with --mtbf")
	f.StringVar(&m.gpuMTBF, "gpu-mtbf", "", "mean time between failures of each GPU (e.g. 730d, up to 100 years); a failure kills the job on it, its node runs on; none when empty or 0")
	f.StringVar(&m.gpuMTTR, "gpu-mttr", "24h", "mean time to repair a failed GPU, with --gpu-mtbf")
	f.IntVar(&m.maxPasses, "max-passes", 0, "stop with an error after this many scheduling passes, a guard against runs that never end (0: 200 per job + 10,000, as carnot plan)")
	f.Float64Var(&m.rate, "arrival-rate", 1, "multiply the arrival rate (2 = twice as many jobs per hour); run times are kept")
	f.StringVar(&m.window, "window", "", "keep the jobs submitted in FROM,TO (dates or RFC 3339 times, UTC, in the workload's own times; either side may be empty)")
	f.Float64Var(&m.sample, "sample", 1, "keep a deterministic sample of this share of the jobs, in (0, 1] (with --seed)")
	f.IntVar(&m.depth, "pass-depth", 0, "between full passes, quick passes over the first N queued jobs only (0: every pass is a full one)")
	f.StringVar(&m.fullEvery, "full-pass-every", "5m", "with --pass-depth, the longest virtual time between two full passes")
	f.StringVar(&m.passEvery, "pass-every", "", "the least virtual time between two passes (e.g. 5m): fewer passes on long traces, jobs start up to that much later; default a pass at every event, as the live server")
}

// options is the workload shaping as trace options.
func (m *simModel) options() (trace.Options, error) {
	o := trace.Options{Scale: m.rate, Sample: trace.Sample{Fraction: m.sample, Seed: uint64(m.seed)}}
	if !(m.rate >= trace.MinScale && m.rate <= trace.MaxScale) {
		return o, usageError{fmt.Errorf("--arrival-rate %g: want a factor from %g to %g", m.rate, trace.MinScale, trace.MaxScale)}
	}
	if !(m.sample > 0 && m.sample <= 1) { // 1, the default, keeps every job
		return o, usageError{fmt.Errorf("--sample %g: want a share in (0, 1]", m.sample)}
	}
	if m.window != "" {
		from, to, ok := strings.Cut(m.window, ",")
		if !ok {
			return o, usageError{fmt.Errorf("--window %q: want FROM,TO, e.g. 2017-10-01,2017-10-08", m.window)}
		}
		var err error
		if o.Window.From, err = parseWhen(from); err != nil {
			return o, usageError{fmt.Errorf("--window: from: %w", err)}
		}
		if o.Window.To, err = parseWhen(to); err != nil {
			return o, usageError{fmt.Errorf("--window: to: %w", err)}
		}
		// To 0 is open to trace.Window, so an explicit TO at the epoch
		// is checked here (an explicit FROM at the epoch is the same as
		// an open one: submit times are after it)
		if strings.TrimSpace(to) != "" && o.Window.To <= o.Window.From {
			return o, usageError{fmt.Errorf("--window %q: FROM must come before TO", m.window)}
		}
	}
	return o, nil
}

// parseWhen reads a date (2017-10-01) or an RFC 3339 time; "" is open.
// A fraction of a second rounds up: submit times are whole seconds, so
// the window [FROM, TO) holds t exactly when t ≥ ⌈FROM⌉ and t < ⌈TO⌉.
func parseWhen(s string) (model.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	for _, layout := range []string{time.DateOnly, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Unix() < 0 {
				return 0, fmt.Errorf("%s is before 1970-01-01: workload times start there", s)
			}
			if t.Nanosecond() > 0 {
				return model.Time(t.Unix() + 1), nil
			}
			return model.Time(t.Unix()), nil
		}
	}
	return 0, fmt.Errorf("%q is neither a date (2017-10-01) nor an RFC 3339 time (2017-10-01T12:00:00Z)", s)
}

// shape applies the window, sample and arrival rate to jobs read from a
// file or bundled (the Philly reader applies them while reading). The
// jobs that depend on jobs the window or sample left out are left out
// too (trace.Orphans), and note says so; left counts them.
func (m *simModel) shape(jobs []*model.Job) (out []*model.Job, note string, left int, err error) {
	o, err := m.options()
	if err != nil {
		return nil, "", 0, err
	}
	if o.Scale == 1 && o.Window == (trace.Window{}) && o.Sample.Fraction == 1 {
		return jobs, "", 0, nil
	}
	if out, err = trace.Shape(jobs, o); err != nil {
		return nil, "", 0, err
	}
	if len(out) == 0 && len(jobs) > 0 {
		return nil, "", 0, m.noneKept(jobs)
	}
	run, why := trace.Orphans(jobs, out)
	if len(why) == 0 {
		return out, "", 0, nil
	}
	if len(why) > maxOrphansNamed {
		why = append(why[:maxOrphansNamed:maxOrphansNamed], fmt.Sprintf("and %d more", len(why)-maxOrphansNamed))
	}
	note = fmt.Sprintf("%d of %d jobs left out: they depend on jobs %s left out (%s)",
		len(out)-len(run), len(out), strings.Join(m.shapedBy(), " with "), strings.Join(why, "; "))
	return run, note, len(out) - len(run), nil
}

// maxOrphansNamed bounds the jobs the note of shape names one by one.
const maxOrphansNamed = 12

// shapedBy is the flags that leave jobs out, as given.
func (m *simModel) shapedBy() []string {
	var what []string
	if m.window != "" {
		what = append(what, "--window "+m.window)
	}
	if m.sample < 1 {
		what = append(what, fmt.Sprintf("--sample %g", m.sample))
	}
	return what
}

// noneKept is the error of a window or sample that keeps none of jobs:
// it says so rather than run an empty twin.
func (m *simModel) noneKept(jobs []*model.Job) error {
	first, last := model.Forever, model.Time(0)
	for _, j := range jobs {
		first, last = min(first, j.SubmitTime), max(last, j.SubmitTime)
	}
	return usageError{fmt.Errorf("%s keeps none of the %d jobs (submitted from %s to %s)", strings.Join(m.shapedBy(), " with "), len(jobs), first, last)}
}

// config applies the policy overrides to fac and returns the twin's
// progress model.
func (m *simModel) config(fac *model.Facility) (sim.Config, error) {
	cfg := sim.Config{Facility: fac, Seed: m.seed, CapExponent: m.capExp, SpreadSlowdown: m.spread, Utilization: m.utilization}
	if err := keysOnce("--policy", m.policy); err != nil {
		return cfg, err
	}
	pol, err := facility.OverridePolicy(fac.Policy, "--policy", m.policy)
	if err != nil {
		return cfg, usageError{err}
	}
	fac.Policy = pol
	dur := func(flag, s string) (model.Duration, error) { return durationFlag(flag, s, 10*365*model.Day) }
	if cfg.CheckpointInterval, err = dur("checkpoint", m.checkpoint); err != nil {
		return cfg, err
	}
	if cfg.MTBF, err = dur("mtbf", m.mtbf); err != nil {
		return cfg, err
	}
	if cfg.MTTR, err = dur("mttr", m.mttr); err != nil {
		return cfg, err
	}
	if cfg.GPUMTBF, err = durationFlag("gpu-mtbf", m.gpuMTBF, sim.MaxGPUMTBF); err != nil {
		return cfg, err
	}
	if cfg.GPUMTTR, err = dur("gpu-mttr", m.gpuMTTR); err != nil {
		return cfg, err
	}
	if cfg.FullPassEvery, err = dur("full-pass-every", m.fullEvery); err != nil {
		return cfg, err
	}
	if cfg.PassEvery, err = dur("pass-every", m.passEvery); err != nil {
		return cfg, err
	}
	if m.maxPasses < 0 {
		return cfg, usageError{fmt.Errorf("--max-passes %d: want 0 (200 per job + 10,000) or a number of passes", m.maxPasses)}
	}
	// zero would silently mean the default in sim.Config: say so instead
	for _, d := range []struct {
		flag string
		v    model.Duration
	}{{"checkpoint", cfg.CheckpointInterval}, {"mttr", cfg.MTTR}, {"gpu-mttr", cfg.GPUMTTR}, {"full-pass-every", cfg.FullPassEvery}} {
		if d.v <= 0 {
			return cfg, usageError{fmt.Errorf("--%s: want a duration above zero, e.g. 1h", d.flag)}
		}
	}
	if m.depth < 0 {
		return cfg, usageError{fmt.Errorf("--pass-depth %d: want 0 (full passes) or a number of jobs", m.depth)}
	}
	cfg.PassDepth = m.depth
	switch {
	case !(m.capExp > 0 && m.capExp <= 4):
		return cfg, usageError{fmt.Errorf("--cap-exponent %g: want a value in (0, 4]", m.capExp)}
	case !(m.spread >= 0 && m.spread < 1):
		return cfg, usageError{fmt.Errorf("--spread-slowdown %g: want a share in [0, 1)", m.spread)}
	case !(m.utilization > 0 && m.utilization <= 1):
		return cfg, usageError{fmt.Errorf("--utilization %g: want a share in (0, 1]", m.utilization)}
	}
	return cfg, nil
}

// durationFlag reads the duration of --flag, at most max; "" is 0.
func durationFlag(flag, s string, max model.Duration) (model.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := model.ParseDuration(s, max)
	if err != nil {
		return 0, usageError{fmt.Errorf("--%s: %w", flag, err)}
	}
	return d, nil
}

// keysOnce refuses a key given twice in key=value flags, as --grid
// refuses a zone given twice: which value was meant is not for carnot
// to guess. A setting without a key is left to the flag's reader.
func keysOnce(flag string, settings []string) error {
	seen := map[string]string{}
	for _, s := range settings {
		k, _, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			continue
		}
		if prev, dup := seen[k]; dup {
			return usageError{fmt.Errorf("%s %q: key %s is given twice (%s %q); give each key once", flag, s, k, flag, prev)}
		}
		seen[k] = s
	}
	return nil
}

// passLimit is the run's bound on scheduling passes: --max-passes, else
// carnot plan's default for a scenario of the same jobs. sim.Config's
// own default (ten million) let a run that never ends (a gang on nodes
// that fail faster than it can checkpoint) go on for hours.
func (m *simModel) passLimit(jobs int) int {
	if m.maxPasses > 0 {
		return m.maxPasses
	}
	return 200*jobs + 10_000
}
