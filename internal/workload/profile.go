package workload

import (
	"maps"
	"slices"
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// option is a GPU model a tenant's jobs may use, with what the facility
// offers of it in the tenant's sites.
type option struct {
	model      string
	gpn        int // GPUs of the largest node
	capacity   int // GPUs in the tenant's sites
	most       int // most GPUs one job may ask for: capacity, or less under quotas
	cpusPerGPU int // what every node of the model can give per GPU
	memPerGPU  int
	nvlGPUs    int           // GPUs of the largest NVLink domain
	leafGPUs   int           // GPUs of the largest leaf
	tags       [][]string    // jurisdiction tags a job may narrow to, one per slice
	models     []string      // shared one-element slice for Job.GPUModels
	sizes      map[int]int   // nodes of each GPU count
	siteSizes  []map[int]int // sizes, in each of the tenant's sites apart
}

// replicasFit is how many replicas of per GPUs the option's nodes hold
// at once, each on one node, and within its most: the GPUs alone
// overcount them when nodes differ in size (20 GPUs of one 8-GPU and
// six 2-GPU nodes hold one replica of 8, not two).
func (o *option) replicasFit(per int) int {
	n := 0
	for gpus, nodes := range o.sizes {
		n += nodes * (gpus / per)
	}
	return min(n, o.most/per)
}

// oneSiteFit is how many replicas of per GPUs the option's nodes in one
// of its sites hold at once, in the site that holds the most: a gang of
// any topology but "any" never spans sites (the core places it in one,
// and the job file loader refuses one larger than any site).
func (o *option) oneSiteFit(per int) int {
	most := 0
	for _, sizes := range o.siteSizes {
		n := 0
		for gpus, nodes := range sizes {
			n += nodes * (gpus / per)
		}
		most = max(most, n)
	}
	return most
}

// profile is what Generate needs to know about one tenant.
type profile struct {
	name    string
	tenant  *model.Tenant
	classes []*model.PriorityClass
	options []option
	weight  float64 // share of submissions
}

// profiles precomputes every tenant's options. Tenants with no usable
// GPU model are left out. With quotas in lim, an option's most is also
// at most what the tenant's quota tree gives it of the model with
// nothing running, and a model it gives none of is not an option.
func profiles(fac *model.Facility, lim *limits) []profile {
	perSite := siteOptions(fac)
	var out []profile
	for i := range fac.Tenants {
		t := &fac.Tenants[i]
		p := profile{name: t.Name, tenant: t, weight: 1}
		for j := range fac.PriorityClasses {
			if pc := &fac.PriorityClasses[j]; len(t.PriorityClasses) == 0 || slices.Contains(t.PriorityClasses, pc.Name) {
				p.classes = append(p.classes, pc)
			}
		}
		all := tenantOptions(fac, perSite, t.Jurisdictions)
		for _, o := range all {
			if t.Quota[o.model].Nominal > 0 {
				p.options = append(p.options, o)
				p.weight += float64(t.Quota[o.model].Nominal)
			}
		}
		if len(p.options) == 0 {
			p.options = all // no quota: may still borrow
		}
		if lim != nil && lim.quotas != nil {
			p.options = lim.quotas.cap(t.Name, p.options)
		}
		if len(p.options) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// siteOptions summarises each site's GPU models, indexed like fac.Sites.
func siteOptions(fac *model.Facility) []map[string]*option {
	idx := map[string]int{}
	for i, s := range fac.Sites {
		idx[s.ID] = i
	}
	out := make([]map[string]*option, len(fac.Sites))
	type key struct{ model, name string }
	nvl, leaf := map[key]int{}, map[key]int{}
	for _, n := range fac.Nodes {
		si, ok := idx[n.Site]
		if !ok || n.GPUs <= 0 {
			continue
		}
		if out[si] == nil {
			out[si] = map[string]*option{}
		}
		o := out[si][n.GPUModel]
		if o == nil {
			o = &option{model: n.GPUModel, cpusPerGPU: 1 << 30, memPerGPU: 1 << 30}
			out[si][n.GPUModel] = o
		}
		o.gpn = max(o.gpn, n.GPUs)
		o.capacity += n.GPUs
		if o.sizes == nil {
			o.sizes = map[int]int{}
		}
		o.sizes[n.GPUs]++
		o.cpusPerGPU = min(o.cpusPerGPU, n.CPUs/n.GPUs)
		o.memPerGPU = min(o.memPerGPU, n.MemoryGiB/n.GPUs)
		kn, kl := key{n.GPUModel, n.NVLinkDomain}, key{n.GPUModel, n.Leaf}
		nvl[kn] += n.GPUs
		leaf[kl] += n.GPUs
		o.nvlGPUs = max(o.nvlGPUs, nvl[kn])
		o.leafGPUs = max(o.leafGPUs, leaf[kl])
	}
	return out
}

// tenantOptions merges the options of the sites a tenant with
// jurisdictions js may use, sorted by model.
func tenantOptions(fac *model.Facility, perSite []map[string]*option, js []string) []option {
	by := map[string]*option{}
	tags := map[string]map[string]bool{}
	for i, s := range fac.Sites {
		if !allows(js, s) {
			continue
		}
		for m, so := range perSite[i] {
			o := by[m]
			if o == nil {
				c := *so
				c.sizes = maps.Clone(so.sizes) // the site's own stays its own
				c.siteSizes = []map[int]int{so.sizes}
				by[m], tags[m] = &c, map[string]bool{}
				o = &c
			} else {
				o.gpn, o.capacity = max(o.gpn, so.gpn), o.capacity+so.capacity
				for gpus, nodes := range so.sizes {
					o.sizes[gpus] += nodes
				}
				o.siteSizes = append(o.siteSizes, so.sizes)
				o.cpusPerGPU, o.memPerGPU = min(o.cpusPerGPU, so.cpusPerGPU), min(o.memPerGPU, so.memPerGPU)
				o.nvlGPUs, o.leafGPUs = max(o.nvlGPUs, so.nvlGPUs), max(o.leafGPUs, so.leafGPUs)
			}
			for _, t := range s.Jurisdictions {
				if allSitesAllowed(fac, t, js) {
					tags[m][t] = true
				}
			}
		}
	}
	out := make([]option, 0, len(by))
	for _, m := range sortedKeys(by) {
		o := *by[m]
		for _, t := range sortedKeys(tags[m]) {
			o.tags = append(o.tags, []string{t})
		}
		o.models = []string{m}
		o.most = o.capacity
		out = append(out, o)
	}
	return out
}

// allSitesAllowed reports whether every site tagged t is allowed by js,
// so that a job narrowed to t stays within its tenant's jurisdictions.
func allSitesAllowed(fac *model.Facility, t string, js []string) bool {
	for _, s := range fac.Sites {
		if s.InJurisdiction(t) && !allows(js, s) {
			return false
		}
	}
	return true
}

// picker draws tenants in proportion to their weight.
type picker struct{ cum []float64 }

func newPicker(ps []profile) picker {
	cum := make([]float64, len(ps))
	var s float64
	for i, p := range ps {
		s += p.weight
		cum[i] = s
	}
	return picker{cum}
}

func (p picker) pick(u float64) int {
	i := sort.SearchFloat64s(p.cum, u*p.cum[len(p.cum)-1])
	return min(i, len(p.cum)-1)
}
