package server

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// TestJobKeepsItsOwnJurisdictionsAcrossAFacilityChange: a job asks for
// EU of a tenant allowed only its qualified sites (tag SNC, a
// qualification, not a place). The job must run in the EU whatever the
// facility becomes: when a later facility file adds a qualified site
// outside the EU, the job does not start there. Submission used to
// store the tenant's tags in place of the job's own when none of the
// job's were wholly within the tenant's sites, which held only for the
// facility of the day.
func TestJobKeepsItsOwnJurisdictionsAcrossAFacilityChange(t *testing.T) {
	fac := func(zurich bool) *model.Facility {
		f := DevFacility("paris", "FR")
		f.Sites[0].Jurisdictions = []string{"EU", "FR", "SNC"}
		f.Sites = append(f.Sites, model.Site{ID: "berlin", Name: "Berlin", Country: "DE", Operator: "local",
			Jurisdictions: []string{"EU", "DE"}, PowerEnvelopeKW: 100, PUE: 1.2, GridZone: "DE"})
		f.Halls = append(f.Halls, model.Hall{ID: "berlin-hall", Site: "berlin", Cooling: model.CoolingAir})
		if zurich {
			f.Sites = append(f.Sites, model.Site{ID: "zurich", Name: "Zurich", Country: "CH", Operator: "local",
				Jurisdictions: []string{"CH", "SNC"}, PowerEnvelopeKW: 100, PUE: 1.2, GridZone: "CH"})
			f.Halls = append(f.Halls, model.Hall{ID: "zurich-hall", Site: "zurich", Cooling: model.CoolingAir})
		}
		f.Tenants[0].Jurisdictions = []string{"SNC"}
		return f
	}
	e := newEnv(t, fac(false), true)
	if code := e.register("p1", "paris", 8); code != 200 {
		t.Fatalf("register p1 in paris: %d", code)
	}
	id := e.submit(spec(8, 1, "jurisdictions", []string{"EU"}))
	if j := e.job(id); !slices.Contains(jobJurisdictions(t, j), "EU") {
		t.Errorf("the stored spec %s has lost the job's own EU", j.Spec)
	}
	e.s.store.Close()

	e2 := openEnv(t, e.dir, fac(true), true, e.clock)
	if code := e2.do("POST", "/v1/nodes/p1/drain", nil, nil); code != 200 {
		t.Fatalf("drain p1: %d", code)
	}
	if code := e2.register("z1", "zurich", 8); code != 200 {
		t.Fatalf("register z1 in zurich: %d", code)
	}
	e2.pass()
	if j := e2.job(id); j.State != api.StatePending {
		t.Fatalf("the job that asked for EU is %s on %+v (site zurich, CH): %s", j.State, j.Replicas, j.Message)
	}
	if code := e2.do("POST", "/v1/nodes/p1/undrain", nil, nil); code != 200 {
		t.Fatalf("undrain p1: %d", code)
	}
	e2.pass()
	if j := e2.job(id); j.State != api.StateRunning || j.Replicas[0].Node != "p1" {
		t.Fatalf("with p1 in paris (EU, SNC) back: %s on %+v, want running on p1: %s", j.State, j.Replicas, j.Message)
	}
}

// jobJurisdictions are the jurisdictions of a job's stored spec.
func jobJurisdictions(t *testing.T, j api.Job) []string {
	t.Helper()
	var s struct {
		Jurisdictions []string `json:"jurisdictions"`
	}
	if err := json.Unmarshal(j.Spec, &s); err != nil {
		t.Fatal(err)
	}
	return s.Jurisdictions
}
