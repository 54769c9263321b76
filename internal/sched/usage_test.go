package sched_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// TestUsageListOrderChangesNoPlan: the order of the snapshot's usage
// list changes no plan. Two cohorts of three tenants each have the same
// usage (x, y and z GPU-hours, listed x1, x2, x3, y1, y2, y3 with y1
// using z and y3 x); only one of their jobs fits. Charged in list order,
// each cohort's share was (x+y)+z against (z+y)+x, which differ in
// floating point for the x, y, z found here, so the list reversed
// started the other cohort's job.
func TestUsageListOrderChangesNoPlan(t *testing.T) {
	const hl = 7 * 24 * 3600
	share := func(h float64) float64 { return h * 3600 / hl / 3 } // per cohort weight 3
	var x, y, z float64
found:
	for a := 1.0; a < 60; a++ {
		for b := a + 1; b < 60; b++ {
			for c := b + 1; c < 60; c++ {
				if (share(a)+share(b))+share(c) != (share(c)+share(b))+share(a) {
					x, y, z = a, b, c
					break found
				}
			}
		}
	}
	if x == 0 {
		t.Fatal("no usage whose sum depends on the order")
	}
	w := newWorld()
	for _, line := range []string{
		"site par country=FR jur=EU,FR envelope_kw=100",
		"nodes n1 site=par",
		"cohort cx", "cohort cy",
		"tenant x1 cohort=cx", "tenant x2 cohort=cx", "tenant x3 cohort=cx",
		"tenant y1 cohort=cy", "tenant y2 cohort=cy", "tenant y3 cohort=cy",
		"policy all=off fairshare=on halflife=7d",
		"job jx tenant=x1 gpus=8",
		"job jy tenant=y1 gpus=8",
	} {
		if err := w.do(strings.Fields(line)); err != nil {
			t.Fatal(err)
		}
	}
	u := func(tenant string, h float64) model.Usage {
		return model.Usage{Tenant: tenant, GPUSeconds: h * 3600, AsOf: w.clock}
	}
	w.usage = []model.Usage{u("x1", x), u("x2", y), u("x3", z), u("y1", z), u("y2", y), u("y3", x)}
	snap := w.snapshot()
	p := sched.Schedule(snap, w.clock)
	for _, order := range []string{"reversed", "one tenant listed twice"} {
		other := w.snapshot()
		switch order {
		case "reversed":
			slices.Reverse(other.Usage)
		default: // x3's usage in two entries, the list reversed: no change either
			other.Usage = append(other.Usage, u("x3", 0))
			slices.Reverse(other.Usage)
		}
		q := sched.Schedule(other, w.clock)
		a, b := render(t, snap, &p)
		c, d := render(t, other, &q)
		if a != c || b != d {
			t.Errorf("usage %v/%v/%v GPU-h in both cohorts, list %s: the plan changes:\n%s\n---\n%s", x, y, z, order, a, c)
		}
	}
}
