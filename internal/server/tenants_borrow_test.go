package server

import (
	"maps"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// GET /v1/tenants says what each tenant borrows as the core judges it:
// beyond its nominal quota of each model, 0 for a tenant of a cohort
// with no quota of its own (everything it runs is borrowed, and reclaim
// may take it), nothing with the policy's quotas off (no quota binds).
func TestTenantsBorrowed(t *testing.T) {
	fac := func(quotas bool) *model.Facility {
		f := DevFacility("local", "FR")
		f.Policy.Quotas = quotas
		f.Cohorts = []model.Cohort{{Name: "lab", Quota: map[string]model.Quota{"H100": {Nominal: 8}}}}
		f.Tenants = []model.Tenant{
			{Name: "lender", Cohort: "lab", Quota: map[string]model.Quota{"H100": {Nominal: 4}}, FairShareWeight: 1},
			{Name: "guest", Cohort: "lab", FairShareWeight: 1},
			{Name: "over", Cohort: "lab", Quota: map[string]model.Quota{"H100": {Nominal: 1}}, FairShareWeight: 1},
		}
		return f
	}
	for _, quotas := range []bool{true, false} {
		e := newEnv(t, fac(quotas), true)
		if code := e.register("n1", "local", 8); code != 200 {
			t.Fatalf("register: %d", code)
		}
		e.submit(spec(2, 1, "tenant", "lender"))
		e.submit(spec(2, 1, "tenant", "guest"))
		e.submit(spec(3, 1, "tenant", "over"))
		e.pass()
		var tl api.TenantList
		e.do("GET", "/v1/tenants", nil, &tl)
		got := map[string]map[string]int{}
		for _, tn := range tl.Tenants {
			if tn.Running != 1 {
				t.Errorf("quotas %v: tenant %s runs %d jobs, want 1", quotas, tn.Name, tn.Running)
			}
			got[tn.Name] = tn.GPUsBorrowed
		}
		want := map[string]map[string]int{"lender": nil, "guest": {"H100": 2}, "over": {"H100": 2}}
		if !quotas {
			want = map[string]map[string]int{"lender": nil, "guest": nil, "over": nil}
		}
		if !maps.EqualFunc(got, want, maps.Equal) {
			t.Errorf("quotas %v: gpus_borrowed %v, want %v", quotas, got, want)
		}
	}
}
