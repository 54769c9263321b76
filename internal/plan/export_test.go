package plan

import "github.com/carnot-dc/carnot/internal/model"

// SiteLoads exposes the differential site loads Verify computes, for tests.
func SiteLoads(snap *model.Snapshot, p *model.Plan, sites ...string) (before, after Load) {
	touched := map[string]string{}
	for _, s := range sites {
		touched[s] = "x"
	}
	return newIndex(snap).siteLoads(snap, p, touched)
}
