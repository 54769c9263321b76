package trace

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// Unfit is what Fitting left out of one tenant's jobs for one reason:
// too few GPUs, or (Resources) GPUs enough but too few CPUs or too
// little memory on the nodes that have them.
type Unfit struct {
	Tenant  string
	Jobs    int // jobs left out
	MaxGPUs int // GPUs of the widest of them
	// GPUs is the most GPUs of one model one of the jobs accepts at the
	// sites the tenant and the job may use, in one site for a gang that
	// must stay in one (OneSite).
	GPUs int
	// OneSite: the jobs are gangs that must stay in one site.
	OneSite bool
	// AllGPUs is the GPUs at the sites the tenant may use.
	AllGPUs int
	// Resources: the nodes have GPUs enough for the jobs, but not the
	// CPUs or memory their replicas ask for beside them; CPUs and MemGiB
	// are the most one replica of them asks for, NodeCPUs and NodeMemGiB
	// the most one of those nodes has.
	Resources            bool
	CPUs, MemGiB         int
	NodeCPUs, NodeMemGiB int
}

// unfitKey groups what Fitting leaves out.
type unfitKey struct {
	tenant    string
	resources bool
}

// Fitting keeps the jobs that f could start with nothing else running:
// the nodes at the sites both the job's tenant and the job may use, of
// one GPU model the job accepts, can hold all its replicas (MinReplicas
// of a deployment) at once, each on one node with the GPUs, CPUs and
// memory it asks for, in one site for a gang whose topology is not
// "any" (a Philly job's is site), as the core places them and the
// job-file loader checks (until 2026-12-02 the models and sites were
// added up, and a job kept so could be one the loader refuses).
// Topology levels within a site are not considered (Philly jobs have
// none). A job that does not fit never starts, and where backfill
// is off, as in HeliosFacility, it holds back every later job of its
// VC for ever. Jobs of a tenant f does not have are kept: KnownTenants
// drops those.
//
// It reuses jobs' backing array and returns what it left out, one Unfit
// per tenant and reason, sorted by tenant, too few GPUs first (nil when
// it kept every job).
func Fitting(f *model.Facility, jobs []*model.Job) ([]*model.Job, []Unfit) {
	c := newFitCheck(f)
	unfit := map[unfitKey]*Unfit{}
	kept := jobs[:0]
	for _, j := range jobs {
		if c.fits(j) {
			kept = append(kept, j)
			continue
		}
		r := c.room(j)
		k := unfitKey{j.Tenant, r.gpuSlots >= r.need}
		u := unfit[k]
		if u == nil {
			u = &Unfit{Tenant: j.Tenant, AllGPUs: c.tenantGPUs(j.Tenant), Resources: k.resources}
			unfit[k] = u
		}
		u.OneSite = u.OneSite || j.Replicas > 1 && groupOf(&model.Node{Site: "x"}, j).site != ""
		u.Jobs++
		u.MaxGPUs = max(u.MaxGPUs, j.TotalGPUs())
		u.GPUs = max(u.GPUs, r.gpus)
		if k.resources {
			u.CPUs, u.MemGiB = max(u.CPUs, j.CPUsPerReplica), max(u.MemGiB, j.MemGiBPerReplica)
			u.NodeCPUs, u.NodeMemGiB = max(u.NodeCPUs, r.cpus), max(u.NodeMemGiB, r.memGiB)
		}
	}
	clear(jobs[len(kept):])
	rank := map[bool]int{false: 0, true: 1} // too few GPUs first
	keys := slices.SortedFunc(maps.Keys(unfit), func(a, b unfitKey) int {
		return cmp.Or(strings.Compare(a.tenant, b.tenant), rank[a.resources]-rank[b.resources])
	})
	var out []Unfit // nil when every job fits
	for _, k := range keys {
		out = append(out, *unfit[k])
	}
	return kept, out
}

// room is what the nodes a left-out job j may use offer it: their GPUs
// of the models it accepts, the replicas they hold by GPUs alone, and
// the most CPUs and memory of one of them.
type room struct {
	need, gpuSlots, gpus, cpus, memGiB int
}

func (c *fitCheck) room(j *model.Job) room {
	r := room{need: needed(j)}
	allowed := c.sites(c.tenants[j.Tenant], j)
	gpus, slots := map[fitGroup]int{}, map[fitGroup]int{}
	for i := range c.f.Nodes {
		n := &c.f.Nodes[i]
		if !allowed[n.Site] || len(j.GPUModels) > 0 && !slices.Contains(j.GPUModels, n.GPUModel) {
			continue
		}
		g := groupOf(n, j)
		gpus[g] += n.GPUs
		if j.GPUsPerReplica > 0 {
			slots[g] += n.GPUs / j.GPUsPerReplica
		} else {
			slots[g] = r.need // asks no GPU: GPUs never bind
		}
		if n.GPUs >= j.GPUsPerReplica {
			r.cpus, r.memGiB = max(r.cpus, n.CPUs), max(r.memGiB, n.MemoryGiB)
		}
	}
	for g := range gpus {
		r.gpus, r.gpuSlots = max(r.gpus, gpus[g]), max(r.gpuSlots, slots[g])
	}
	return r
}

// needed is how many replicas of j the core starts together: a gang's
// all, a deployment's minimum (model.KeepsReplicas).
func needed(j *model.Job) int {
	if j.Kind == model.KindDeployment {
		return model.KeepsReplicas(j)
	}
	return j.Replicas
}

// fitGroup is the nodes whose room adds up for a job: those of one GPU
// model (the core starts a gang, and a deployment's first replicas, on
// one model), in one site for a gang that must stay in one (any
// topology but "any", as the core and the job-file loader have it).
type fitGroup struct{ model, site string }

func groupOf(n *model.Node, j *model.Job) fitGroup {
	g := fitGroup{model: n.GPUModel}
	if j.Kind == model.KindJob && j.Topology.Level != model.LevelAny {
		g.site = n.Site
	}
	return g
}

// Replayable keeps the jobs that the facility HeliosFacility built can
// replay: it drops the jobs of VCs without a size (KnownTenants) and
// those that could never start on their VC (Fitting). notes says what
// it dropped, one line per reason, ready to show the user; vcFile, the
// VC sizes file, is named in them. notes is nil when every job is kept.
// It reuses jobs' backing array.
func Replayable(f *model.Facility, jobs []*model.Job, vcFile string) (kept []*model.Job, notes []string) {
	all := len(jobs)
	unsized := map[string]bool{}
	for _, j := range jobs {
		unsized[j.Tenant] = true
	}
	for _, t := range f.Tenants {
		delete(unsized, t.Name)
	}
	kept = KnownTenants(f, jobs)
	if left := all - len(kept); left > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d jobs left out: their VCs (%s) have no size in %s",
			left, all, strings.Join(slices.Sorted(maps.Keys(unsized)), ", "), vcFile))
	}
	kept, unfit := Fitting(f, kept)
	if len(unfit) > 0 {
		left, list := unfitList(unfit, func(u Unfit) string { return fmt.Sprintf("the VC has %d", u.AllGPUs) }, "VCs")
		notes = append(notes, fmt.Sprintf("%d of %d jobs left out: they need more than their VC can ever give them, so they would never start (%s)",
			left, all, list))
	}
	return kept, notes
}

// maxNoteVCs bounds the VCs a note of Replayable names one by one.
const maxNoteVCs = 12

// fitCheck answers Fitting's question for one facility, remembering the
// answer for each tenant and shape of job (a trace has few shapes).
type fitCheck struct {
	f       *model.Facility
	tenants map[string]*model.Tenant
	memo    map[fitKey]bool
}

// fitKey is what decides whether a job fits.
type fitKey struct {
	tenant, models, tags, class string
	replicas, gpus, cpus        int
	memGiB                      int
	oneSite                     bool
	kind                        model.Kind
}

func newFitCheck(f *model.Facility) *fitCheck {
	c := &fitCheck{f: f, tenants: map[string]*model.Tenant{}, memo: map[fitKey]bool{}}
	for i := range f.Tenants {
		c.tenants[f.Tenants[i].Name] = &f.Tenants[i]
	}
	return c
}

func (c *fitCheck) fits(j *model.Job) bool {
	t := c.tenants[j.Tenant]
	if t == nil {
		return true
	}
	need := needed(j)
	k := fitKey{tenant: j.Tenant, models: strings.Join(j.GPUModels, "\x00"), tags: strings.Join(j.Jurisdictions, "\x00"), class: j.DataClass,
		replicas: need, gpus: j.GPUsPerReplica, cpus: j.CPUsPerReplica, memGiB: j.MemGiBPerReplica,
		oneSite: groupOf(&model.Node{Site: "x"}, j).site != "", kind: j.Kind}
	if ok, known := c.memo[k]; known {
		return ok
	}
	allowed := c.sites(t, j)
	slots := map[fitGroup]int{}
	ok := false
	for i := range c.f.Nodes {
		n := &c.f.Nodes[i]
		if !allowed[n.Site] || len(j.GPUModels) > 0 && !slices.Contains(j.GPUModels, n.GPUModel) {
			continue
		}
		g := groupOf(n, j)
		slots[g] += replicasOn(n, j)
		if slots[g] >= need {
			ok = true
			break
		}
	}
	c.memo[k] = ok
	return ok
}

// replicasOn is how many replicas of j node n holds when empty.
func replicasOn(n *model.Node, j *model.Job) int {
	r := n.GPUs + n.CPUs + n.MemoryGiB + 1 // bounded by any resource asked for
	for _, p := range [][2]int{{n.GPUs, j.GPUsPerReplica}, {n.CPUs, j.CPUsPerReplica}, {n.MemoryGiB, j.MemGiBPerReplica}} {
		if p[1] > 0 {
			r = min(r, p[0]/p[1])
		}
	}
	return r
}

// sites is the IDs of the sites job j of tenant t may use, by the
// core's sovereignty rule (plan.SiteAllowed).
func (c *fitCheck) sites(t *model.Tenant, j *model.Job) map[string]bool {
	out := map[string]bool{}
	for i := range c.f.Sites {
		if s := &c.f.Sites[i]; plan.SiteAllowed(c.f, t, j, s) {
			out[s.ID] = true
		}
	}
	return out
}

// tenantGPUs is the GPUs at the sites tenant name may use.
func (c *fitCheck) tenantGPUs(name string) int {
	allowed := c.sites(c.tenants[name], &model.Job{})
	gpus := 0
	for _, n := range c.f.Nodes {
		if allowed[n.Site] {
			gpus += n.GPUs
		}
	}
	return gpus
}
