package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// addTenants adds the cohort tree and the tenants, with per-model quotas
// that split each model's capacity among the tenants allowed to use it.
func addTenants(f *model.Facility, cfg FacilityConfig) {
	r := rng(cfg.Seed, 1)
	f.Cohorts = append(f.Cohorts, model.Cohort{Name: "all"})
	for c := 0; c < cfg.Cohorts; c++ {
		f.Cohorts = append(f.Cohorts, model.Cohort{Name: fmt.Sprintf("cohort-%02d", c+1), Parent: "all"})
	}
	countries := siteTags(f, func(t string) bool { return t != "EU" && t != "US" })
	var weights []float64
	for i := 0; i < cfg.Tenants; i++ {
		t := model.Tenant{
			Name:            fmt.Sprintf("t%03d", i+1),
			Cohort:          f.Cohorts[1+i%cfg.Cohorts].Name,
			FairShareWeight: []float64{1, 1, 1, 2, 2, 4}[r.IntN(6)],
		}
		switch x := r.Float64(); {
		case x < 0.35:
			t.Jurisdictions = []string{"EU"}
		case x < 0.5 && len(countries) > 0:
			t.Jurisdictions = []string{countries[r.IntN(len(countries))]}
		case x < 0.6:
			t.Jurisdictions = []string{"US"}
		}
		if !slices.ContainsFunc(f.Sites, func(s model.Site) bool { return allows(t.Jurisdictions, s) }) {
			t.Jurisdictions = nil // a jurisdiction no site has: fall back to any
		}
		switch x := r.Float64(); {
		case x < 0.3:
			t.PriorityClasses = []string{"normal", "low"}
		case x < 0.9:
			t.PriorityClasses = []string{"high", "normal", "low"}
		}
		if r.Float64() < 0.1 {
			t.Exclusive = model.ExclusiveNode
		}
		f.Tenants = append(f.Tenants, t)
		weights = append(weights, 0.2+r.ExpFloat64()) // size of the tenant
	}
	addQuotas(f, r, weights)
}

// addQuotas gives each tenant one or two models it may run on and splits
// each model's capacity among its tenants in proportion to their weight,
// in whole nodes' worth of GPUs.
func addQuotas(f *model.Facility, r *rand.Rand, weights []float64) {
	capacity := map[string]int{}
	gpn := map[string]int{}
	for _, n := range f.Nodes {
		capacity[n.GPUModel] += n.GPUs
		gpn[n.GPUModel] = max(gpn[n.GPUModel], n.GPUs)
	}
	models := sortedKeys(capacity)
	siteModels := map[string]map[string]bool{}
	for _, n := range f.Nodes {
		if siteModels[n.Site] == nil {
			siteModels[n.Site] = map[string]bool{}
		}
		siteModels[n.Site][n.GPUModel] = true
	}
	users := map[string][]int{} // tenants by model
	for i := range f.Tenants {
		var ok []string
		for _, m := range models {
			if slices.ContainsFunc(f.Sites, func(s model.Site) bool {
				return siteModels[s.ID][m] && allows(f.Tenants[i].Jurisdictions, s)
			}) {
				ok = append(ok, m)
			}
		}
		if len(ok) == 0 {
			continue
		}
		r.Shuffle(len(ok), func(a, b int) { ok[a], ok[b] = ok[b], ok[a] })
		n := 1
		if len(ok) > 1 && r.Float64() < 0.4 {
			n = 2
		}
		for _, m := range ok[:n] {
			users[m] = append(users[m], i)
		}
	}
	for _, m := range models {
		us := users[m]
		if len(us) == 0 {
			continue
		}
		var sum float64
		for _, i := range us {
			sum += weights[i]
		}
		for _, i := range us {
			g := max(gpn[m], 1)
			nominal := int(math.Round(float64(capacity[m])*weights[i]/sum/float64(g))) * g
			q := model.Quota{Nominal: nominal}
			if r.Float64() < 0.5 {
				b := max(nominal, g)
				q.BorrowingLimit = &b
			}
			if r.Float64() < 0.3 {
				l := nominal / 2
				q.LendingLimit = &l
			}
			t := &f.Tenants[i]
			if t.Quota == nil {
				t.Quota = map[string]model.Quota{}
			}
			t.Quota[m] = q
		}
	}
}

// allows reports whether a tenant with jurisdictions js may use site s.
func allows(js []string, s model.Site) bool {
	if len(js) == 0 {
		return true
	}
	return slices.ContainsFunc(js, s.InJurisdiction)
}

// siteTags returns the sorted jurisdiction tags of the sites that keep.
func siteTags(f *model.Facility, keep func(string) bool) []string {
	set := map[string]bool{}
	for _, s := range f.Sites {
		for _, t := range s.Jurisdictions {
			if keep(t) {
				set[t] = true
			}
		}
	}
	return sortedKeys(set)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
