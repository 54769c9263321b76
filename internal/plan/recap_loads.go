package plan

import (
	"github.com/carnot-dc/carnot/internal/model"
)

// What a plan's recaps add to the loads: every GPU that a running
// placement of a recapped job is counted for (the first holder of a GPU
// held twice) draws the recap's cap, or TDP when it is 0, instead of its
// placement's. Only the first recap of a job counts (a second one is a
// violation).

// recapCaps maps each job the plan recaps to its first recap's cap; nil
// when the plan has no recaps.
func recapCaps(p *model.Plan) map[string]int {
	if p == nil || len(p.Recaps) == 0 {
		return nil
	}
	caps := make(map[string]int, len(p.Recaps))
	for _, r := range p.Recaps {
		if _, ok := caps[r.Job]; !ok {
			caps[r.Job] = r.PowerCapW
		}
	}
	return caps
}

// capW is what a GPU under cap draws at most: the cap, or tdp when it
// is not above 0 (uncapped), as PowerW counts placements.
func capW(cap int, tdp float64) float64 {
	if cap > 0 {
		return float64(cap)
	}
	return tdp
}

// exactRecaps reports whether the kept loads, whole watts, can take the
// recaps' differences exactly: every cap below exactW.
func exactRecaps(caps map[string]int) bool {
	for _, c := range caps {
		if c >= exactW {
			return false
		}
	}
	return true
}

// markRecaps marks the containers where the plan's recaps raise the
// draw of a running placement's GPUs, with the first job recapped so in
// each.
func (x *index) markRecaps(t *facTables, sc *loadScratch, p *model.Plan) {
	caps := recapCaps(p)
	for _, r := range p.Recaps {
		if caps[r.Job] != r.PowerCapW {
			continue // a second recap of the job, with another cap: not counted
		}
		for _, a := range x.running(r.Job) {
			for _, pl := range a.Replicas {
				n := t.nodeOf(pl.Node)
				if n < 0 || len(pl.GPUs) == 0 || capW(r.PowerCapW, t.tdp[n]) <= capW(pl.PowerCapW, t.tdp[n]) {
					continue
				}
				sc.site.markRecap(t.site[n], t.siteW, r.Job)
				sc.hall.markRecap(t.hall[n], t.hallW, r.Job)
				sc.rack.markRecap(t.rack[n], t.rackW, r.Job)
			}
		}
	}
}

// keptRecaps adds the recaps' differences to the marked containers when
// the running placements come from the kept loads: fold then does not
// visit them. The kept loads stand only when no GPU is held twice and no
// node of a marked site is unreachable, so every in-range GPU of a
// recapped placement in a marked site is counted for it.
func (x *index) keptRecaps(t *facTables, sc *loadScratch, p *model.Plan, caps map[string]int) {
	if len(caps) == 0 {
		return
	}
	done := make(map[string]bool, len(caps))
	for _, r := range p.Recaps {
		if done[r.Job] {
			continue
		}
		done[r.Job] = true
		rc := caps[r.Job]
		for _, a := range x.running(r.Job) {
			for _, pl := range a.Replicas {
				n := t.nodeOf(pl.Node)
				if n < 0 || len(pl.GPUs) == 0 || t.site[n] < 0 || !sc.site.in[t.site[n]] {
					continue
				}
				d := capW(rc, t.tdp[n]) - capW(pl.PowerCapW, t.tdp[n])
				if d == 0 {
					continue
				}
				for _, g := range pl.GPUs {
					if g < 0 || g >= x.fac.Nodes[n].GPUs {
						continue
					}
					sc.site.addRecap(t.site[n], d)
					sc.hall.addRecap(t.hall[n], d)
					sc.rack.addRecap(t.rack[n], d)
				}
			}
		}
	}
}
