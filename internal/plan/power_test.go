package plan_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

func TestPowerW(t *testing.T) {
	snap, p := fixture()
	// n1 idle: 1000 + 8×70; n2: 1000 + 4×700 (r1) + 4×70; n3: 1000 + 8×50.
	before := plan.Load{
		Site: map[string]float64{"par": 1560 + 4080, "fra": 1400},
		Hall: map[string]float64{"par-h1": 1560 + 4080, "fra-h1": 1400},
		Rack: map[string]float64{"par-r1": 1560 + 4080, "fra-r1": 1400},
	}
	if diff := cmp.Diff(before, plan.PowerW(snap, nil)); diff != "" {
		t.Errorf("PowerW(nil plan) (-want +got):\n%s", diff)
	}
	// j1 takes all of n1, one replica capped at 300 W.
	p.Starts[0].Replicas[0].PowerCapW = 300
	wantPar := 1000 + 4*300 + 4*700 + 4080.0
	if got := plan.SitePowerW(snap, p)["par"]; got != wantPar {
		t.Errorf("SitePowerW[par] = %v, want %v", got, wantPar)
	}
	// A recap of r1 (running uncapped on n2:0-3) from a cap of 300 W to
	// 500 W: those GPUs draw 500 W after the plan, not 300 W; a second
	// recap of r1 does not count.
	running(snap, "r1").Replicas[0].PowerCapW = 300
	p.Recaps = []model.Recap{{Job: "r1", PowerCapW: 500}, {Job: "r1", PowerCapW: 0}}
	if got, want := plan.SitePowerW(snap, p)["par"], wantPar-4080+1000+4*500+4*70; got != want {
		t.Errorf("SitePowerW[par] with a recap to 500 W = %v, want %v", got, want)
	}
	if got, want := plan.SitePowerW(snap, nil)["par"], 1560+1000+4*300+4*70.0; got != want {
		t.Errorf("SitePowerW[par] before the plan = %v, want %v", got, want)
	}
	p.Recaps[0].PowerCapW = 0
	if got := plan.SitePowerW(snap, p)["par"]; got != wantPar {
		t.Errorf("SitePowerW[par] with a recap to uncapped = %v, want %v", got, wantPar)
	}
	// r1 at 600 W on power lent to it (it started at 300 W), given back:
	// its GPUs draw 300 W after the plan.
	running(snap, "r1").Replicas[0].PowerCapW, running(snap, "r1").Replicas[0].StartCapW = 600, 300
	p.Recaps = []model.Recap{{Job: "r1", PowerCapW: 300}}
	if got, want := plan.SitePowerW(snap, p)["par"], wantPar-4080+1000+4*300+4*70; got != want {
		t.Errorf("SitePowerW[par] with a recap lowering to 300 W = %v, want %v", got, want)
	}
	if got, want := plan.SitePowerW(snap, nil)["par"], 1560+1000+4*600+4*70.0; got != want {
		t.Errorf("SitePowerW[par] before the lowering = %v, want %v", got, want)
	}
	running(snap, "r1").Replicas[0].PowerCapW, running(snap, "r1").Replicas[0].StartCapW = 0, 0
	p.Recaps = nil
	// A down node counts as it would draw up (it comes back, or is only
	// out of touch, without the core having a say); a draining one too.
	snap.Nodes = []model.NodeState{{Node: "n2", Condition: model.NodeDown}, {Node: "n3", Condition: model.NodeDraining}}
	got := plan.PowerW(snap, nil)
	if got.Site["par"] != 1560+4080 || got.Site["fra"] != 1400 {
		t.Errorf("with n2 down, n3 draining: par %v fra %v, want 5640 1400", got.Site["par"], got.Site["fra"])
	}
	if h, r := plan.HallPowerW(snap, nil), plan.RackPowerW(snap, nil); h["par-h1"] != 1560+4080 || r["fra-r1"] != 1400 {
		t.Errorf("hall/rack loads %v %v", h, r)
	}
}

func TestJurisdictionOK(t *testing.T) {
	fr := &model.Site{ID: "par", Jurisdictions: []string{"EU", "FR"}}
	de := &model.Site{ID: "fra", Jurisdictions: []string{"EU", "DE"}}
	us := &model.Site{ID: "iad", Jurisdictions: []string{"US"}}
	tenant := func(j ...string) *model.Tenant { return &model.Tenant{Name: "t", Jurisdictions: j} }
	jobIn := func(j ...string) *model.Job { return &model.Job{ID: "j", Jurisdictions: j} }
	tests := []struct {
		name   string
		tenant *model.Tenant
		job    *model.Job
		want   [3]bool // fr, de, us
	}{
		{"no constraint", tenant(), jobIn(), [3]bool{true, true, true}},
		{"nil tenant", nil, jobIn(), [3]bool{true, true, true}},
		{"tenant EU", tenant("EU"), jobIn(), [3]bool{true, true, false}},
		{"job FR", tenant(), jobIn("FR"), [3]bool{true, false, false}},
		{"job narrows tenant", tenant("EU", "DE"), jobIn("DE"), [3]bool{false, true, false}},
		// A site must satisfy both lists: an EU tenant may run a DE job
		// at a site tagged EU and DE.
		{"job narrows by site, not by tag", tenant("EU"), jobIn("DE"), [3]bool{false, true, false}},
		{"job wider than tenant", tenant("FR"), jobIn("EU"), [3]bool{true, false, false}},
		{"job cannot widen tenant", tenant("FR"), jobIn("US", "FR"), [3]bool{true, false, false}},
		{"empty intersection", tenant("FR"), jobIn("US"), [3]bool{false, false, false}},
		{"any tag suffices", tenant("DE", "US"), jobIn(), [3]bool{false, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := [3]bool{
				plan.JurisdictionOK(tt.tenant, tt.job, fr),
				plan.JurisdictionOK(tt.tenant, tt.job, de),
				plan.JurisdictionOK(tt.tenant, tt.job, us),
			}
			if got != tt.want {
				t.Errorf("fr, de, us = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSiteAllowedDataClass(t *testing.T) {
	fr := &model.Site{ID: "par", Jurisdictions: []string{"EU", "FR"}}
	de := &model.Site{ID: "fra", Jurisdictions: []string{"EU", "DE"}}
	fac := &model.Facility{DataClasses: map[string][]string{"health": {"FR"}, "personal": {"EU"}}}
	tenant := &model.Tenant{Name: "t"}
	for _, tc := range []struct {
		class  string
		fr, de bool
	}{{"", true, true}, {"health", true, false}, {"personal", true, true}, {"undeclared", true, true}} {
		j := &model.Job{ID: "j", DataClass: tc.class}
		if got := [2]bool{plan.SiteAllowed(fac, tenant, j, fr), plan.SiteAllowed(fac, tenant, j, de)}; got != [2]bool{tc.fr, tc.de} {
			t.Errorf("class %q: fr, de = %v, want %v", tc.class, got, [2]bool{tc.fr, tc.de})
		}
	}
}
