package trace

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/quota"
)

// Mapping says which tenant of a facility runs each virtual cluster's
// jobs: the VC's entry, else tenant Prefix+VC when the facility has it
// (Prefix "" does not apply), else Default ("": none).
type Mapping struct {
	Entries []MapEntry // at most one per VC
	Prefix  string
	Default string
	// DefaultFrom names where Default was given, for messages (e.g.
	// "--default-tenant"); "" reads "the default tenant".
	DefaultFrom string
}

// VCJobs is a virtual cluster and its number of jobs.
type VCJobs struct {
	VC   string
	Jobs int
}

// UnmappedError is OntoFacility's error when the mapping gives some VCs
// no tenant: VCs lists them, most jobs first.
type UnmappedError struct {
	VCs          []VCJobs
	Jobs, Of     int    // jobs of those VCs, of all the jobs
	Prefix, Fac  string // the mapping's Prefix and the facility's name
	facilityHint string // the facility's tenants
}

func (e *UnmappedError) Error() string {
	parts := make([]string, 0, len(e.VCs))
	for i, v := range e.VCs {
		if i == maxNoteVCs {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.VCs)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", v.VC, jobCount(v.Jobs)))
	}
	no := ""
	if e.Prefix != "" {
		no = fmt.Sprintf(", and facility %s has no tenant %s<VC> for them", e.Fac, e.Prefix)
	}
	return fmt.Sprintf("%d of %d jobs have no tenant: %d VCs are not mapped%s: %s; map each to a tenant of the facility (%s), or give a default tenant",
		e.Jobs, e.Of, len(e.VCs), no, strings.Join(parts, ", "), e.facilityHint)
}

func jobCount(n int) string {
	if n == 1 {
		return "1 job"
	}
	return fmt.Sprintf("%d jobs", n)
}

// OntoFacility puts jobs read from a trace with an empty TenantPrefix
// (each job's Tenant is its VC) onto the tenants of f by m, for a
// replay on f:
//
//   - Every entry's tenant, and Default, must be a tenant of f: an Errors
//     list names each one that is not, at its file:line:column (or its
//     flag), with f's tenants. A VC given two entries is an error too.
//   - Every VC of the jobs must get a tenant: otherwise an
//     *UnmappedError lists the VCs without one, with their job counts.
//   - Each job's priority class must be one of f's, allowed for its
//     tenant (an error names the entry that sent the VC there); the job
//     is preemptible when its class is (trace jobs are training runs,
//     which checkpoint).
//   - The jobs f could never start, with nothing else running, for
//     their tenant are left out (see Fitting; and where f's policy has
//     quotas, the jobs that need more GPUs than their tenant's quota
//     tree could ever give them, which the scheduling core would park).
//
// It reuses jobs' backing array and returns the kept jobs in their
// order, and notes for the user, one line each (nil when there is
// nothing to say): the jobs left out per tenant, the VCs Default took,
// and entries whose VC has no job (a typo, or outside the window).
func OntoFacility(f *model.Facility, jobs []*model.Job, m Mapping) (kept []*model.Job, notes []string, err error) {
	tenants := map[string]*model.Tenant{}
	for i := range f.Tenants {
		tenants[f.Tenants[i].Name] = &f.Tenants[i]
	}
	byVC, err := checkEntries(f, tenants, m)
	if err != nil {
		return nil, nil, err
	}
	count := map[string]int{}
	classes := map[string]bool{}
	for _, j := range jobs {
		count[j.Tenant]++
		classes[j.PriorityClass] = true
	}

	// route each VC to its tenant, remembering how, for messages
	route := map[string]string{}
	from := map[string]string{} // VC → where its mapping was given
	var unmapped, defaulted []VCJobs
	unmappedJobs := 0
	for _, vc := range slices.Sorted(maps.Keys(count)) {
		switch e, ok := byVC[vc]; {
		case ok:
			route[vc], from[vc] = e.Tenant, e.where()
		case m.Prefix != "" && tenants[m.Prefix+vc] != nil:
			route[vc], from[vc] = m.Prefix+vc, fmt.Sprintf("the tenant prefix %q", m.Prefix)
		case m.Default != "":
			route[vc], from[vc] = m.Default, m.defaultFrom()
			defaulted = append(defaulted, VCJobs{vc, count[vc]})
		default:
			unmapped = append(unmapped, VCJobs{vc, count[vc]})
			unmappedJobs += count[vc]
		}
	}
	if len(unmapped) > 0 {
		byJobs(unmapped)
		return nil, nil, &UnmappedError{VCs: unmapped, Jobs: unmappedJobs, Of: len(jobs), Prefix: m.Prefix, Fac: f.Name, facilityHint: tenantList(f)}
	}
	if err := checkClasses(f, tenants, route, from, classes); err != nil {
		return nil, nil, err
	}
	preemptible := map[string]bool{}
	for _, c := range f.PriorityClasses {
		preemptible[c.Name] = c.Preemptible
	}
	for _, j := range jobs {
		j.Tenant = route[j.Tenant]
		j.Preemptible = preemptible[j.PriorityClass]
	}

	if len(defaulted) > 0 {
		n := 0
		for _, v := range defaulted {
			n += v.Jobs
		}
		byJobs(defaulted)
		notes = append(notes, fmt.Sprintf("%d of %d jobs go to tenant %s (%s): those of the VCs not mapped otherwise, %s",
			n, len(jobs), m.Default, m.defaultFrom(), vcList(defaulted)))
	}
	var unused []string
	for _, e := range m.Entries {
		if count[e.VC] == 0 {
			unused = append(unused, fmt.Sprintf("%s (%s)", e.VC, e.where()))
		}
	}
	if len(unused) > 0 {
		notes = append(notes, fmt.Sprintf("the map names VCs without a job in the trace (or its window), which it ignores: %s; check their ids", shortList(unused)))
	}

	all := len(jobs)
	kept, unfit := Fitting(f, jobs)
	byGPUs, byResources := splitUnfit(unfit)
	if len(byGPUs) > 0 {
		notes = append(notes, unfitNote(byGPUs, all, "the sites their tenant may use never hold as many GPUs as they need at once", func(u Unfit) string {
			if u.GPUs < u.AllGPUs {
				where := "of one model they accept"
				if u.OneSite {
					where += " in one site"
				}
				return fmt.Sprintf("the sites it may use have at most %d GPUs %s, %d in all", u.GPUs, where, u.AllGPUs)
			}
			return fmt.Sprintf("the sites it may use have %d GPUs", u.GPUs)
		}))
	}
	if len(byResources) > 0 {
		notes = append(notes, unfitNote(byResources, all, "the nodes of their tenant's sites have GPUs enough for them but never hold all their replicas at once with the CPUs and memory each asks for", func(u Unfit) string {
			return fmt.Sprintf("a replica asks for up to %d CPUs and %d GiB, the nodes with its GPUs have at most %d CPUs and %d GiB", u.CPUs, u.MemGiB, u.NodeCPUs, u.NodeMemGiB)
		}))
	}
	if f.Policy.Quotas {
		var over []Unfit
		kept, over = withinQuota(f, kept)
		if len(over) > 0 {
			notes = append(notes, unfitNote(over, all, "their tenant's quota (nominal quota, cohort and borrowing limit) never gives it as many GPUs as they need at once: the scheduler would park them", func(u Unfit) string {
				return fmt.Sprintf("its quota gives at most %d", u.GPUs)
			}))
		}
	}
	return kept, notes, nil
}

func (m Mapping) defaultFrom() string { return cmp.Or(m.DefaultFrom, "the default tenant") }

// checkEntries checks that every tenant m names is in f, and that no VC
// has two entries, and indexes the entries by VC.
func checkEntries(f *model.Facility, tenants map[string]*model.Tenant, m Mapping) (map[string]MapEntry, error) {
	var bad Errors
	byVC := map[string]MapEntry{}
	for _, e := range m.Entries {
		if first, dup := byVC[e.VC]; dup {
			bad = append(bad, e.at("VC %s is already mapped to %s at %s; keep one mapping per VC", e.VC, first.Tenant, first.where()))
			continue
		}
		byVC[e.VC] = e
		if tenants[e.Tenant] == nil {
			bad = append(bad, e.at("tenant %s is not in facility %s (%s)", e.Tenant, f.Name, tenantHint(f, e.Tenant)))
		}
	}
	if m.Default != "" && tenants[m.Default] == nil {
		bad = append(bad, &Error{File: m.defaultFrom(), Msg: fmt.Sprintf("tenant %s is not in facility %s (%s)", m.Default, f.Name, tenantHint(f, m.Default))})
	}
	if len(bad) > 0 {
		return nil, bad
	}
	return byVC, nil
}

// checkClasses checks that the jobs' classes are f's and allowed for
// the tenants their VCs go to; from says where each VC was mapped.
func checkClasses(f *model.Facility, tenants map[string]*model.Tenant, route, from map[string]string, classes map[string]bool) error {
	have := make([]string, 0, len(f.PriorityClasses))
	for _, c := range f.PriorityClasses {
		have = append(have, c.Name)
	}
	var bad []string
	for _, c := range slices.Sorted(maps.Keys(classes)) {
		if !slices.Contains(have, c) {
			return fmt.Errorf("priority class %s is not in facility %s (it has %s); give one of those", c, f.Name, strings.Join(have, ", "))
		}
		said := map[string]bool{}
		for _, vc := range slices.Sorted(maps.Keys(route)) {
			t := tenants[route[vc]]
			if len(t.PriorityClasses) == 0 || slices.Contains(t.PriorityClasses, c) || said[from[vc]] {
				continue
			}
			said[from[vc]] = true
			bad = append(bad, fmt.Sprintf("%s: VC %s goes to tenant %s, which may not use priority class %s (it may use %s); map the VC to another tenant, or give another class",
				from[vc], vc, t.Name, c, strings.Join(t.PriorityClasses, ", ")))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "\n"))
	}
	return nil
}

// withinQuota keeps the jobs whose tenant's quota tree could give them
// their GPUs, of some model they accept, with nothing running: the
// bound past which the scheduling core parks a job as hopeless. It
// reuses jobs' backing array and returns what it left out per tenant,
// with Unfit.GPUs the most the quota gives of any model.
func withinQuota(f *model.Facility, jobs []*model.Job) ([]*model.Job, []Unfit) {
	seen := map[string]bool{}
	for _, n := range f.Nodes {
		if n.GPUs > 0 {
			seen[n.GPUModel] = true
		}
	}
	models := slices.Sorted(maps.Keys(seen))
	tree := quota.New(f, models)
	type key struct {
		tenant string
		models string
	}
	best := map[key]int64{} // most GPUs of one model the quota gives
	unfit := map[string]*Unfit{}
	kept := jobs[:0]
	for _, j := range jobs {
		ti := tree.Tenant(j.Tenant)
		need := int64(j.GPUsPerReplica) * int64(j.Replicas)
		if ti < 0 || need == 0 || j.Kind == model.KindDeployment {
			kept = append(kept, j)
			continue
		}
		k := key{j.Tenant, strings.Join(j.GPUModels, "\x00")}
		b, ok := best[k]
		if !ok {
			b = -1
			for mi, m := range models {
				if len(j.GPUModels) == 0 || slices.Contains(j.GPUModels, m) {
					b = max(b, tree.Available(ti, mi))
				}
			}
			best[k] = b
		}
		if b < 0 || b >= need { // no model it accepts: Fitting left it out
			kept = append(kept, j)
			continue
		}
		u := unfit[j.Tenant]
		if u == nil {
			u = &Unfit{Tenant: j.Tenant, GPUs: int(b)}
			unfit[j.Tenant] = u
		}
		u.Jobs++
		u.MaxGPUs = max(u.MaxGPUs, j.TotalGPUs())
		u.GPUs = max(u.GPUs, int(b))
	}
	clear(jobs[len(kept):])
	var out []Unfit
	for _, t := range slices.Sorted(maps.Keys(unfit)) {
		out = append(out, *unfit[t])
	}
	return kept, out
}

// splitUnfit parts what Fitting left out by its reason: too few GPUs,
// or too few CPUs or too little memory beside them.
func splitUnfit(unfit []Unfit) (byGPUs, byResources []Unfit) {
	for _, u := range unfit {
		if u.Resources {
			byResources = append(byResources, u)
		} else {
			byGPUs = append(byGPUs, u)
		}
	}
	return byGPUs, byResources
}

// unfitNote says which jobs were left out, per tenant, and why.
func unfitNote(unfit []Unfit, all int, why string, has func(Unfit) string) string {
	left, list := unfitList(unfit, has, "tenants")
	return fmt.Sprintf("%d of %d jobs left out: they would never start, as %s (%s)", left, all, why, list)
}

// unfitList counts the jobs of unfit and names them per tenant (or VC,
// what), with what each has (has), the first maxNoteVCs one by one.
func unfitList(unfit []Unfit, has func(Unfit) string, what string) (left int, list string) {
	parts := make([]string, 0, len(unfit))
	for _, u := range unfit {
		left += u.Jobs
		jobs := "1 job of"
		if u.Jobs > 1 {
			jobs = fmt.Sprintf("%d jobs of up to", u.Jobs)
		}
		parts = append(parts, fmt.Sprintf("%s: %s %d GPUs, %s", u.Tenant, jobs, u.MaxGPUs, has(u)))
	}
	if len(parts) > maxNoteVCs {
		parts = append(parts[:maxNoteVCs], fmt.Sprintf("and %d more %s", len(unfit)-maxNoteVCs, what))
	}
	return left, strings.Join(parts, "; ")
}

// byJobs sorts VCs by their jobs, most first, then by id.
func byJobs(vcs []VCJobs) {
	slices.SortFunc(vcs, func(a, b VCJobs) int { return cmp.Or(cmp.Compare(b.Jobs, a.Jobs), strings.Compare(a.VC, b.VC)) })
}

// vcList names VCs with their job counts, the first maxNoteVCs of them.
func vcList(vcs []VCJobs) string {
	parts := make([]string, 0, len(vcs))
	for _, v := range vcs {
		parts = append(parts, fmt.Sprintf("%s (%s)", v.VC, jobCount(v.Jobs)))
	}
	return shortList(parts)
}

// shortList joins the first maxNoteVCs items and counts the rest.
func shortList(items []string) string {
	if len(items) > maxNoteVCs {
		items = append(items[:maxNoteVCs:maxNoteVCs], fmt.Sprintf("and %d more", len(items)-maxNoteVCs))
	}
	return strings.Join(items, ", ")
}

// tenantList names f's tenants for a message, the first 20 of them.
func tenantList(f *model.Facility) string {
	names := make([]string, 0, len(f.Tenants))
	for _, t := range f.Tenants {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "it has none"
	}
	if len(names) > 20 {
		names = append(names[:20:20], fmt.Sprintf("and %d more", len(names)-20))
	}
	return "its tenants: " + strings.Join(names, ", ")
}

// tenantHint is tenantList, or a tenant that differs from name in case
// only.
func tenantHint(f *model.Facility, name string) string {
	for _, t := range f.Tenants {
		if strings.EqualFold(t.Name, name) {
			return fmt.Sprintf("did you mean %s? tenant names are case-sensitive", t.Name)
		}
	}
	return tenantList(f)
}
