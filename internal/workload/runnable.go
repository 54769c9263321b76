package workload

import (
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/quota"
)

// GenerateRunnable is Generate for a workload whose every job fac could
// run with nothing else running:
//
//   - When fac's policy has quotas on, each job is sized within what its
//     tenant's quota tree could give it of its GPU model with nothing
//     running (its nominal quota plus what its borrowing limit lets it
//     take from its cohort): the bound by which the scheduling core calls
//     a job hopeless ("quota gives it at most … even with nothing
//     running"), computed by the core's own quota tree. A deployment is
//     capped with all its replicas; a tenant whose quotas give it no GPU
//     it could use gets no jobs.
//
//   - A gang whose topology keeps it in one site (any level but any)
//     asks for no more replicas than the fullest of its tenant's sites
//     holds of its GPU model: the core never starts a larger one, and
//     the job-file loader refuses it. The bound is the loader's own
//     (jobspec.Sizes); Generate sums the sites.
//
//   - On a facility that defines no data class, a job has none: Generate
//     draws them from a list of its own, labels the core ignores there,
//     but the twin's loader and the live server refuse a job naming a
//     class the facility does not define (DropUndefinedClasses).
//
// A job's data class and jurisdictions leave it sites with enough nodes
// of its GPU model, and a gang that stays in one site such a site, as
// in Generate (settle). Everything else is drawn as Generate draws it,
// and, when no quota caps any job, a job Generate makes that is already
// runnable this way comes out the same but for its data class. A gang
// larger than any one of its tenant's sites is the exception: Generate
// gives it topology any, GenerateRunnable keeps its topology and caps
// it at the fullest site.
//
// `carnot workload generate` is meant to use it. Generate keeps its
// draws: it is the benchmarks' workload, whose figures depend on it
// (TestGenerateUnchanged).
func GenerateRunnable(fac *model.Facility, n int, seed int64, start model.Time) []*model.Job {
	lim := &limits{}
	if fac.Policy.Quotas {
		lim.quotas = newQuotaBound(fac)
	}
	return DropUndefinedClasses(fac, generate(fac, n, seed, start, lim))
}

// DropUndefinedClasses clears the data class of every job when fac
// defines none, and returns jobs. Generate gives jobs classes of its own
// there, which the core reads as labels (its benchmarks' figures keep
// them), but a job file holding them is refused by the twin's loader and
// by the live server: a class fac does not define says nowhere the job's
// data may live. Drawn after the jobs, it changes nothing else of them.
func DropUndefinedClasses(fac *model.Facility, jobs []*model.Job) []*model.Job {
	if len(fac.DataClasses) == 0 {
		for _, j := range jobs {
			j.DataClass = ""
		}
	}
	return jobs
}

// limits is what GenerateRunnable holds the jobs to beyond Generate:
// quotas, and gangs kept in one site capped at the fullest site.
type limits struct {
	quotas *quotaBound // nil without quotas
}

// quotaBound is the most of each GPU model each tenant may use with
// nothing running, from the core's own quota tree (internal/sched/quota).
type quotaBound struct {
	tree   *quota.Tree
	models map[string]int // index of each model in the tree
}

func newQuotaBound(fac *model.Facility) *quotaBound {
	seen := map[string]bool{}
	for _, n := range fac.Nodes {
		seen[n.GPUModel] = true
	}
	names := sortedKeys(seen)
	b := &quotaBound{tree: quota.New(fac, names), models: make(map[string]int, len(names))}
	for i, m := range names {
		b.models[m] = i
	}
	return b
}

// cap returns opts with each option's most lowered to what tenant's
// quotas allow, without the options they allow nothing of.
func (b *quotaBound) cap(tenant string, opts []option) []option {
	ti := b.tree.Tenant(tenant)
	if ti < 0 {
		return opts
	}
	var out []option
	for _, o := range opts {
		m, ok := b.models[o.model]
		if !ok {
			continue
		}
		avail := b.tree.Available(ti, m)
		if avail < int64(o.most) {
			o.most = int(avail)
		}
		if o.most > 0 {
			out = append(out, o)
		}
	}
	return out
}

// settle drops j's data class, and then its jurisdictions, while the
// sites they leave it do not hold all its replicas at once by the
// job-file loader's rule (jobspec.Sizes: of its GPU model, whole
// replicas per node, in one site when it is a gang that stays in one);
// t is j's tenant. Both generators draw the class and the jurisdiction
// apart from the GPU model, so a job may get a class only sites without
// its model may hold. Once both are dropped, the tenant's sites hold it:
// the job was sized by them. CPUs and memory never bind: the generator
// sizes them by the least any node of the model has per GPU.
func settle(sizes *jobspec.Sizes, t *model.Tenant, j *model.Job) {
	if len(j.GPUModels) != 1 || j.GPUsPerReplica == 0 || j.DataClass == "" && len(j.Jurisdictions) == 0 {
		return // nothing to drop
	}
	for _, drop := range []func(){func() { j.DataClass = "" }, func() { j.Jurisdictions = nil }} {
		if sizes.Room(t, j) >= j.Replicas {
			return
		}
		drop()
	}
}
