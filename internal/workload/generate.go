package workload

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
)

// Mix and shape of the generated workload.
const (
	shareSmall      = 0.80 // 1–8 GPUs, one replica (some become deployments)
	shareMedium     = 0.15 // gangs of 16–256 GPUs; the rest are 512–4,096
	shareDeployment = 0.06 // of the small bucket: ≈5 % of all jobs
	shareFlexible   = 0.10 // jobs with a window they may be deferred within
	shareRestricted = 0.20 // jobs narrowed to one jurisdiction tag
	offeredLoad     = 0.9  // submissions offer this share of GPU capacity
	minRuntime      = 10 * model.Minute
	maxRuntime      = 14 * model.Day
)

// Commands are shared between jobs: treat Job.Command, GPUModels and
// Jurisdictions of generated jobs as read-only.
var (
	cmdSmall  = []string{"python", "run.py"}
	cmdGang   = []string{"torchrun", "train.py"}
	cmdDeploy = []string{"vllm", "serve"}
)

var dataClasses = []string{"public", "internal", "confidential", "personal"}

// MaxJobs is the most jobs Generate is asked for by carnot's commands
// (carnot workload generate --jobs, a scenario set's
// workload.generate.jobs): it builds them all in memory at once.
const MaxJobs = 1_000_000

// Generate returns n synthetic jobs for fac, submitted from start on. It
// is deterministic in (fac, n, seed, start) and returns nil when no
// tenant of fac can use any GPU. Jobs are numbered j0000001… in submit
// order; slices may be shared between jobs and must not be modified.
//
// A job's sizes are drawn within what its tenant's sites hold of its
// GPU model, a gang larger than any one of them gets topology any, and
// a data class or jurisdiction, drawn apart from the model, that would
// leave a job too few nodes of it is dropped (settle): the job-file
// loader's size and site checks accept every job, once classes fac does
// not define are dropped (DropUndefinedClasses). Quotas are not heeded:
// some jobs wait for ever on them (GenerateRunnable heeds them).
func Generate(fac *model.Facility, n int, seed int64, start model.Time) []*model.Job {
	return generate(fac, n, seed, start, nil)
}

// generate is Generate, holding the jobs to lim when it is non-nil.
func generate(fac *model.Facility, n int, seed int64, start model.Time, lim *limits) []*model.Job {
	ps := profiles(fac, lim)
	if n <= 0 || len(ps) == 0 {
		return nil
	}
	g := &gen{r: rng(seed, 2), ps: ps, pick: newPicker(ps), classes: dataClasses, sizes: jobspec.NewSizes(fac), capGangs: lim != nil}
	if len(fac.DataClasses) > 0 { // the facility's own classifications
		g.classes = make([]string, 0, len(fac.DataClasses))
		for c := range fac.DataClasses {
			g.classes = append(g.classes, c)
		}
		sort.Strings(g.classes)
	}
	slab := make([]model.Job, n)
	jobs := make([]*model.Job, n)
	ids := idBlock(n)
	w := len(ids) / n
	var demand float64 // GPU-seconds
	for i := range slab {
		j := &slab[i]
		j.ID = ids[i*w : (i+1)*w]
		g.job(j)
		demand += float64(j.Replicas*j.GPUsPerReplica) * float64(j.RuntimeLimit)
		jobs[i] = j
	}
	spreadSubmits(slab, seed, start, demand/offeredLoad/float64(max(capacity(fac), 1)))
	return jobs
}

// idBlock returns the IDs of n jobs as one string of equal-width IDs, so
// that a million IDs cost one allocation.
func idBlock(n int) string {
	width := max(7, len(strconv.Itoa(n)))
	b := make([]byte, 0, n*(width+1))
	for i := 1; i <= n; i++ {
		b = append(b, 'j')
		for k := len(b) + width - digits(i); len(b) < k; {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, int64(i), 10)
	}
	return string(b)
}

func digits(i int) int {
	n := 1
	for ; i >= 10; i /= 10 {
		n++
	}
	return n
}

func capacity(fac *model.Facility) int {
	c := 0
	for _, n := range fac.Nodes {
		c += n.GPUs
	}
	return c
}

// spreadSubmits gives the jobs Poisson arrivals over window seconds from
// start and moves their windows (stored relative to submit) along.
func spreadSubmits(jobs []model.Job, seed int64, start model.Time, window float64) {
	window = max(window, float64(model.Hour))
	r := rng(seed, 3)
	var total float64
	for range jobs {
		total += r.ExpFloat64()
	}
	r = rng(seed, 3)
	var at float64
	for i := range jobs {
		at += r.ExpFloat64()
		j := &jobs[i]
		j.SubmitTime = start + model.Time(at/total*window)
		if j.Deadline > 0 {
			j.EarliestStart += j.SubmitTime
			j.Deadline += j.SubmitTime
		}
	}
}

// gen draws one job at a time.
type gen struct {
	r       *rand.Rand
	ps      []profile
	pick    picker
	classes []string       // data classes to draw from
	sizes   *jobspec.Sizes // the job-file loader's rule of a gang's size
	// capGangs: GenerateRunnable caps a gang kept in one site by sizes;
	// Generate gives one larger than any of its tenant's sites topology any
	capGangs bool
}

func (g *gen) job(j *model.Job) {
	p := &g.ps[g.pick.pick(g.r.Float64())]
	o := &p.options[g.r.IntN(len(p.options))]
	j.Kind = model.KindJob
	j.Tenant = p.name
	j.GPUModels = o.models
	j.Topology = model.Topology{Level: model.LevelAny}
	j.PriorityClass = "normal"
	if len(p.classes) > 0 {
		pc := p.classes[g.r.IntN(len(p.classes))]
		j.PriorityClass, j.Preemptible = pc.Name, pc.Preemptible
	}
	switch x := g.r.Float64(); {
	case x < shareSmall*shareDeployment:
		g.deployment(j, o)
	case x < shareSmall:
		g.small(j, o)
	case x < shareSmall+shareMedium:
		g.gang(j, p, o, 16, 256, 2*model.Hour)
	default:
		g.gang(j, p, o, 512, 4096, 8*model.Hour)
	}
	if j.Kind == model.KindJob {
		j.MinReplicas = j.Replicas
	}
	j.CPUsPerReplica = o.cpusPerGPU * j.GPUsPerReplica
	j.MemGiBPerReplica = o.memPerGPU * j.GPUsPerReplica
	if len(o.tags) > 0 && g.r.Float64() < shareRestricted {
		j.Jurisdictions = o.tags[g.r.IntN(len(o.tags))]
	}
	if g.r.Float64() < 0.3 {
		j.DataClass = g.classes[g.r.IntN(len(g.classes))]
	}
	settle(g.sizes, p.tenant, j)
}

// small is a single-replica job of 1–8 GPUs.
func (g *gen) small(j *model.Job, o *option) {
	j.Replicas = 1
	j.GPUsPerReplica = min([]int{1, 1, 1, 2, 2, 4, 8}[g.r.IntN(7)], o.gpn, o.most)
	j.RuntimeLimit = g.runtime(45*model.Minute, 1.4)
	j.CheckpointGrace = model.Duration(30 * (1 + g.r.IntN(10)))
	j.ExclusiveNode = j.GPUsPerReplica == o.gpn && g.r.Float64() < 0.2
	j.Command = cmdSmall
	g.flexible(j)
}

// gang is a job of lo–hi GPUs (powers of two) on whole nodes, capped at
// the option's most (what the tenant's sites have of the model, or its
// quota) and at the replicas its nodes hold: one replica of fewer GPUs
// when that is less than a node. For GenerateRunnable, a gang whose
// topology keeps it in one site is also capped at the replicas the
// fullest of its tenant's sites holds, by the job-file loader's rule
// (jobspec.Sizes), which refuses a larger one: the core never starts it.
func (g *gen) gang(j *model.Job, p *profile, o *option, lo, hi int, median model.Duration) {
	steps := int(math.Log2(float64(hi/lo))) + 1
	total := min(lo<<g.r.IntN(steps), o.most)
	per := min(o.gpn, o.most)
	j.GPUsPerReplica = per
	j.Replicas = min(max(1, (total+per-1)/per), o.replicasFit(per))
	j.RuntimeLimit = g.runtime(median, 1.0)
	j.CheckpointGrace = model.Duration(60 * (2 + g.r.IntN(14)))
	j.ExclusiveNode = g.r.Float64() < 0.3
	j.Command = cmdGang
	x := g.r.Float64()
	j.Topology = topology(x, j.Replicas*j.GPUsPerReplica, o, lo >= 512)
	switch {
	case j.Topology.Level == model.LevelAny:
	case g.capGangs:
		if most := g.sizes.Room(p.tenant, j); j.Replicas > most {
			j.Replicas = max(most, 1)
			j.Topology = topology(x, j.Replicas*j.GPUsPerReplica, o, lo >= 512) // the same level
		}
	case j.Replicas > o.oneSiteFit(per):
		// Generate: larger than any of its sites, where only topology
		// any spans sites
		j.Topology = model.Topology{Level: model.LevelAny}
	}
	g.flexible(j)
}

// topology picks a requirement by x, a draw in [0, 1), weighted toward
// nvlink and leaf for gangs, and requires a level only when one instance
// of it can hold the whole gang of gpus GPUs; the level does not depend
// on gpus.
func topology(x float64, gpus int, o *option, huge bool) model.Topology {
	t := model.Topology{Level: model.LevelAny}
	if huge {
		switch {
		case x < 0.4:
			t.Level = model.LevelLeaf
		case x < 0.7:
			t.Level = model.LevelHall
		case x < 0.9:
			t.Level, t.Required = model.LevelSite, true
		}
		return t
	}
	switch {
	case x < 0.35:
		t.Level = model.LevelNVLink
	case x < 0.45:
		t.Level, t.Required = model.LevelNVLink, true
	case x < 0.7:
		t.Level = model.LevelLeaf
	case x < 0.8:
		t.Level, t.Required = model.LevelLeaf, true
	case x < 0.9:
		t.Level = model.LevelRack
	}
	if t.Required && (t.Level == model.LevelNVLink && gpus > o.nvlGPUs || t.Level == model.LevelLeaf && gpus > o.leafGPUs) {
		t.Required = false
	}
	if t.Level == model.LevelNVLink && o.nvlGPUs <= o.gpn {
		t.Level = model.LevelLeaf // no multi-node NVLink here
		t.Required = t.Required && gpus <= o.leafGPUs
	}
	return t
}

// deployment is an inference service of 1–16 replicas of 1–8 GPUs,
// keeping at least half of them, capped with its min replicas at what
// the option's nodes hold (replicasFit).
func (g *gen) deployment(j *model.Job, o *option) {
	j.Kind = model.KindDeployment
	j.Replicas = 1 + g.r.IntN(16)
	j.MinReplicas = (j.Replicas + 1) / 2
	j.GPUsPerReplica = min([]int{1, 2, 4, 8}[g.r.IntN(4)], o.gpn, o.most)
	j.Replicas = min(j.Replicas, o.replicasFit(j.GPUsPerReplica))
	j.MinReplicas = min(j.MinReplicas, j.Replicas)
	j.RuntimeLimit = model.Day * model.Duration(1+g.r.IntN(7))
	j.CheckpointGrace = 30
	j.Command = cmdDeploy
	if g.r.Float64() < 0.3 {
		j.Topology.Level = model.LevelLeaf
	}
}

// flexible gives some jobs a window, stored relative to the submit time
// until spreadSubmits moves it.
func (g *gen) flexible(j *model.Job) {
	if g.r.Float64() >= shareFlexible {
		return
	}
	j.EarliestStart = model.Time(g.r.IntN(4*60)) * 60
	slack := model.Duration(2+g.r.IntN(23)) * model.Hour
	j.Deadline = j.EarliestStart.Add(j.RuntimeLimit + slack)
	if j.EarliestStart == 0 {
		j.EarliestStart = 60 // 0 means unset; keep the window explicit
	}
}

// runtime draws a lognormal runtime limit around median, rounded up to
// five minutes and clamped to [10 min, 14 days].
func (g *gen) runtime(median model.Duration, sigma float64) model.Duration {
	d := float64(median) * math.Exp(sigma*g.r.NormFloat64())
	d = math.Ceil(d/300) * 300
	return model.Duration(min(max(d, float64(minRuntime)), float64(maxRuntime)))
}
