package plan

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// SiteLoads exposes the differential site loads Verify computes, for tests.
func SiteLoads(snap *model.Snapshot, p *model.Plan, sites ...string) (before, after Load) {
	touched := map[string]string{}
	for _, s := range sites {
		touched[s] = "x"
	}
	return newIndex(snap).siteLoads(snap, p, touched)
}

// KeptDrift brings what c keeps of the running allocations up to date
// with snap, by difference from the last snapshot c saw, and compares it
// with what a fresh Checker keeps of snap; it returns the first
// difference, "" if none. used reports whether the kept loads stand in
// for the full computation on snap.
func KeptDrift(c *Checker, snap *model.Snapshot) (drift string, used bool) {
	x := c.x
	k := x.takeKept()
	if k == nil {
		return "nothing kept", false
	}
	defer x.putKept(k)
	t := x.tab()
	got := k.update(t, x.fac, snap, nil)
	fresh := newKept(t, x.fac)
	want := fresh.update(t, x.fac, snap, nil)
	switch {
	case !slices.Equal(got, want):
		return fmt.Sprintf("node indices %v, want %v", got, want), false
	case k.dups != fresh.dups || k.wild != fresh.wild:
		return fmt.Sprintf("dups, wild %d, %d, want %d, %d", k.dups, k.wild, fresh.dups, fresh.wild), false
	case !slices.Equal(k.held, fresh.held) || !slices.Equal(k.nodeW, fresh.nodeW):
		return fmt.Sprintf("held %v nodeW %v, want %v %v", k.held, k.nodeW, fresh.held, fresh.nodeW), false
	case !slices.Equal(k.siteW, fresh.siteW) || !slices.Equal(k.hallW, fresh.hallW) || !slices.Equal(k.rackW, fresh.rackW):
		return fmt.Sprintf("site, hall, rack W %v %v %v, want %v %v %v", k.siteW, k.hallW, k.rackW, fresh.siteW, fresh.hallW, fresh.rackW), false
	}
	for _, tn := range x.fac.Tenants {
		i := k.tree.Tenant(tn.Name)
		for m, name := range t.qmodels {
			if i >= 0 && (k.tree.Usage(i, m) != fresh.tree.Usage(i, m) || k.tree.Available(i, m) != fresh.tree.Available(i, m)) {
				return fmt.Sprintf("tenant %s %s: usage %d available %d, want %d %d", tn.Name, name,
					k.tree.Usage(i, m), k.tree.Available(i, m), fresh.tree.Usage(i, m), fresh.tree.Available(i, m)), false
			}
		}
	}
	return "", k.loadsOK()
}

// KeepsLoads reports whether a Checker of fac keeps the loads by
// difference.
func KeepsLoads(fac *model.Facility) bool { return buildTables(fac).keepLoads }
