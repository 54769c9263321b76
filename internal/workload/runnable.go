package workload

import (
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/quota"
)

// GenerateRunnable is Generate for a workload whose every job fac could
// run with nothing else running. When fac's policy has quotas on, each
// job is sized within what its tenant's quota tree could give it of its
// GPU model with nothing running (its nominal quota plus what its
// borrowing limit lets it take from its cohort): the bound by which the
// scheduling core calls a job hopeless ("quota gives it at most … even
// with nothing running"), computed by the core's own quota tree. A
// deployment is capped with all its replicas; a tenant whose quotas give
// it no GPU it could use gets no jobs. Sizes are otherwise drawn as
// Generate draws them, and without quotas the jobs are Generate's.
//
// `carnot workload generate` is meant to use it. Generate stays as it
// is: it is the benchmarks' workload, whose figures depend on it.
func GenerateRunnable(fac *model.Facility, n int, seed int64, start model.Time) []*model.Job {
	if !fac.Policy.Quotas {
		return Generate(fac, n, seed, start)
	}
	return generate(fac, n, seed, start, newQuotaBound(fac))
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
