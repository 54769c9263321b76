package plan

import (
	"strconv"

	"github.com/carnot-dc/carnot/internal/model"
)

// recaps checks the plan's recaps, each on its own: the policy allows
// them; the job runs, is not terminating, and the plan neither starts
// it, nor raises it while preempting it, nor recaps it again; its cap suits every replica's GPU
// model, changes at least one replica's cap and lowers none below the
// replica's own (power lent by an earlier recap may be given back, no
// more). What the recaps change in the loads is checked by power, with
// the starts.
func (v *verifier) recaps() {
	if len(v.p.Recaps) == 0 {
		return
	}
	off := recapPolicyOff(v.x.fac.Policy)
	victims := make(map[string]bool, len(v.p.Preemptions))
	for _, pr := range v.p.Preemptions {
		victims[pr.Victim] = true
	}
	seen := make(map[string]bool, len(v.p.Recaps))
	for _, r := range v.p.Recaps {
		if off != "" {
			v.add(CodeRecap, r.Job, "", -1, "recap while the policy's %s is off (recaps need power, power_capping and power_recap)", off)
		}
		as := v.x.running(r.Job)
		switch {
		case len(as) == 0:
			if _, ok := v.x.pending[r.Job]; ok {
				v.add(CodeRecap, r.Job, "", -1, "recap of a job that is pending, not running")
			} else {
				v.add(CodeRecap, r.Job, "", -1, "recap of a job that is not running")
			}
			continue
		case seen[r.Job]:
			v.add(CodeRecap, r.Job, "", -1, "recapped twice")
			continue
		}
		seen[r.Job] = true
		for _, a := range as {
			if a.Terminating {
				v.add(CodeRecap, r.Job, "", -1, "recap of a job that is terminating (evict at %s)", a.EvictAt)
				break
			}
		}
		if v.started[r.Job] {
			v.add(CodeRecap, r.Job, "", -1, "recap of a job that the plan also starts")
		}
		if victims[r.Job] && v.raisesAny(r, as) {
			// lowering is allowed: a victim gives its lent power back
			// at its notice, not at its eviction
			v.add(CodeRecap, r.Job, "", -1, "recap raising a job that the plan preempts")
		}
		v.recapReplicas(r, as)
	}
}

// raisesAny reports whether recap r raises some replica of allocations
// as.
func (v *verifier) raisesAny(r model.Recap, as []*model.Allocation) bool {
	for _, a := range as {
		for _, pl := range a.Replicas {
			if node, ok := v.x.nodes[pl.Node]; ok && len(pl.GPUs) > 0 {
				tdp := float64(v.x.models[node.GPUModel].TDPWatts)
				if capW(r.PowerCapW, tdp) > capW(pl.PowerCapW, tdp) {
					return true
				}
			}
		}
	}
	return false
}

// recapPolicyOff names the first policy setting that recaps need and
// pol lacks, "" when it allows them.
func recapPolicyOff(pol model.Policy) string {
	switch {
	case !pol.Power:
		return "power"
	case !pol.PowerCapping:
		return "power_capping"
	case !pol.PowerRecap:
		return "power_recap"
	}
	return ""
}

// recapReplicas checks recap r against the running replicas of its job
// (allocations as): a cap other than 0 within every replica's GPU model's
// settable range; no replica lowered below its own cap (OwnCapW: the cap
// it started with when a recap raised it, else its cap), comparing what a
// GPU may draw (a cap, or TDP when uncapped), so that a recap gives back
// only power lent to a replica; and one replica changed at least.
// Replicas without GPUs, or on a node the facility lacks, have no cap to
// change.
func (v *verifier) recapReplicas(r model.Recap, as []*model.Allocation) {
	badCap, changed, low := false, 0, 0
	var first model.Placement
	var firstTDP float64
	for _, a := range as {
		for _, pl := range a.Replicas {
			node, ok := v.x.nodes[pl.Node]
			if !ok || len(pl.GPUs) == 0 {
				continue
			}
			m := v.x.models[node.GPUModel]
			if r.PowerCapW != 0 && !badCap && (!m.CanCap() || r.PowerCapW < m.MinCapWatts || r.PowerCapW > m.MaxCapWatts) {
				badCap = true // once per recap: the cap is one number
				v.add(CodePowerCap, r.Job, node.Name, -1, "recap to power cap %d W outside %s's range [%d, %d] W",
					r.PowerCapW, node.GPUModel, m.MinCapWatts, m.MaxCapWatts)
			}
			tdp := float64(m.TDPWatts)
			to := capW(r.PowerCapW, tdp)
			if to != capW(pl.PowerCapW, tdp) {
				changed++
			}
			if to < capW(pl.OwnCapW(), tdp) {
				if low == 0 {
					first, firstTDP = pl, tdp
				}
				low++
			}
		}
	}
	switch {
	case low > 0:
		more := ""
		if low > 1 {
			more = " (" + strconv.Itoa(low) + " replicas lowered so)"
		}
		v.add(CodeRecap, r.Job, first.Node, -1, "recap to %s lowers the replica on %s below %s%s",
			capText(r.PowerCapW), first.Node, ownText(first, firstTDP), more)
	case changed == 0:
		v.add(CodeRecap, r.Job, "", -1, "recap to %s changes no replica's cap (each may draw that much already)", capText(r.PowerCapW))
	}
}

// ownText names the own cap of pl, a replica on a GPU of tdp watts, as a
// refused lowering names it.
func ownText(pl model.Placement, tdp float64) string {
	switch {
	case pl.StartCapW > 0:
		return "the " + strconv.Itoa(pl.StartCapW) + " W it started with"
	case pl.PowerCapW > 0:
		return "its " + strconv.Itoa(pl.PowerCapW) + " W cap, which no recap raised: it has no lent power to give back"
	}
	return "its TDP (" + strconv.FormatFloat(tdp, 'f', 0, 64) + " W, uncapped), which no recap raised: it has no lent power to give back"
}

// capText is a cap as a violation names it.
func capText(w int) string {
	if w == 0 {
		return "uncapped"
	}
	return strconv.Itoa(w) + " W"
}
