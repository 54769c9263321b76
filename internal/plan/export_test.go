package plan

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

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
	k.update(t, x.fac, snap)
	fresh := newKept(t, x.fac)
	fresh.update(t, x.fac, snap)
	got, want := k.flat(), fresh.flat()
	switch {
	case !slices.Equal(got, want):
		return fmt.Sprintf("node indices %v, want %v", got, want), false
	case k.occupancy() != fresh.occupancy():
		return fmt.Sprintf("occupancy\n%s\nwant\n%s", k.occupancy(), fresh.occupancy()), false
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

// flat is the node index of each placement the kept state holds, in
// snapshot order.
func (k *kept) flat() []int32 {
	var out []int32
	for _, s := range k.order {
		out = append(out, k.slots[s].nodes...)
	}
	return out
}

// occupancy renders the kept node and job lookups by snapshot position,
// which does not depend on how slots were numbered.
func (k *kept) occupancy() string {
	var b strings.Builder
	for n, refs := range k.onNode {
		var at [][2]int32
		for _, r := range refs {
			at = append(at, [2]int32{k.slots[r.slot].at, r.rep})
		}
		slices.SortFunc(at, func(a, b [2]int32) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
		fmt.Fprintf(&b, "node %d: %v\n", n, at)
	}
	ids := slices.Sorted(maps.Keys(k.byJob))
	for _, id := range ids {
		var at []int32
		for _, s := range k.byJob[id] {
			at = append(at, k.slots[s].at)
		}
		slices.Sort(at)
		fmt.Fprintf(&b, "job %s: %v\n", id, at)
	}
	fmt.Fprintf(&b, "bare: %v\n", k.bare)
	return b.String()
}
