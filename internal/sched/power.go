package sched

import (
	"fmt"
	"math"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// powerFor checks that starting slots keeps every site, hall and rack
// within its limit. The IT load of a busy GPU is its cap (or TDP when
// uncapped); a free GPU draws its idle power; every node not down draws
// its base power. When the start does not fit at TDP and capping is on,
// it returns the highest cap (within the model's settable range) that
// fits. capW is 0 for an uncapped start.
func (p *pass) powerFor(j *model.Job, m int, slots []place.Slot, constrained bool) (capW int, v verdict, ok bool) {
	if !p.pol.Power || j.GPUsPerReplica == 0 {
		return 0, verdict{}, true
	}
	gm := p.c.Models[m]
	uses := p.takeUses()
	defer func() { p.spareUses = uses }()
	for _, s := range slots {
		uses = uses.addNode(p.c, &p.c.Nodes[s.Node], len(s.GPUs), 0, constrained)
	}
	idle := float64(gm.IdleWatts)
	limit := math.Inf(1) // highest per-GPU watts every container allows
	worst := -1
	for i, u := range uses {
		w := idle + u.pw.HeadroomFor(constrained)/float64(u.gpus)
		if w < limit {
			limit, worst = w, i
		}
	}
	if p.pol.PowerShare && p.pol.PowerCapping && gm.CanCap() && len(slots) > 0 {
		if s := p.c.Nodes[slots[0].Node].Site; s >= 0 {
			if share, ok := p.siteShare(s); ok {
				limit = min(limit, idle+share)
			}
		}
	}
	if c, ok := p.capUnder(gm, limit); ok {
		return c, verdict{}, true
	}
	if constrained && p.res != nil {
		if _, _, ok := p.powerFor(j, m, slots, false); ok {
			// what keeps it is the power the reservation needs then
			return 0, p.backfillVerdict(j), false
		}
	}
	u := uses[worst]
	per := float64(gm.TDPWatts)
	how := ""
	if p.pol.PowerCapping && gm.CanCap() {
		per = float64(gm.MinCapWatts)
		how = fmt.Sprintf(" even capped at %d W/GPU", gm.MinCapWatts)
	}
	after := u.pw.LoadW + float64(u.gpus)*(per-idle)
	// Like a placement blocked by power, this is one that a
	// reservation (or, in strict order, the pools held) and preemption
	// can cure.
	return 0, verdict{code: model.ReasonPower, capacity: true, msg: fmt.Sprintf(
		"power: starting would raise %s %s IT load to %s of %s%s",
		u.kind, u.pw.ID, megawatts(after), megawatts(u.pw.LimitW), how)}, false
}

// capUnder is the cap of a start whose GPUs may each draw at most
// limit watts: 0 (uncapped) when that is TDP or more, else the highest
// settable cap within it; ok is false when no cap is that low.
func (p *pass) capUnder(gm model.GPUModel, limit float64) (capW int, ok bool) {
	if limit >= float64(gm.TDPWatts) {
		return 0, true
	}
	if p.pol.PowerCapping && gm.CanCap() {
		if c := min(int(math.Floor(limit)), gm.MaxCapWatts, gm.TDPWatts); c >= gm.MinCapWatts {
			return c, true
		}
	}
	return 0, false
}

// powerUse is what a start or a recap asks of one site, hall or rack:
// its GPUs there, and the watts they draw now (a recap's).
type powerUse struct {
	pw   *place.Power
	kind string
	gpus int
	w    float64
}

// powerUses sums by container the GPUs of the nodes added.
type powerUses []powerUse

// takeUses is an empty powerUses with the memory of the last one given
// back (p.spareUses = …): a gang spread over many racks sums dozens.
// A call that takes one while another is out gets new memory.
func (p *pass) takeUses() powerUses {
	us := p.spareUses
	p.spareUses = nil
	if us == nil {
		return make(powerUses, 0, 16)
	}
	return us[:0]
}

// addNode adds gpus GPUs drawing w watts on node nd to its site, hall and
// rack, those with a limit (or, constrained, the reservation's spare).
func (us powerUses) addNode(c *place.Cluster, nd *place.Node, gpus int, w float64, constrained bool) powerUses {
	if nd.Site >= 0 {
		us = us.add(&c.Sites[nd.Site], "site", gpus, w, constrained)
	}
	if nd.Hall >= 0 {
		us = us.add(&c.Halls[nd.Hall], "hall", gpus, w, constrained)
	}
	if nd.Rack >= 0 {
		us = us.addLast(&c.Racks[nd.Rack], "rack", gpus, w, constrained)
	}
	return us
}

// addLast is add looking from the end: the nodes of a placement come
// rack by rack, so a node's rack is mostly the container added last,
// where its site and hall are near the start.
func (us powerUses) addLast(pw *place.Power, kind string, gpus int, w float64, constrained bool) powerUses {
	if pw.LimitW <= 0 && !(constrained && pw.HasSpare) {
		return us
	}
	for i := len(us) - 1; i >= 0; i-- {
		if u := &us[i]; u.pw == pw {
			u.gpus += gpus
			u.w += w
			return us
		}
	}
	return append(us, powerUse{pw, kind, gpus, w})
}

func (us powerUses) add(pw *place.Power, kind string, gpus int, w float64, constrained bool) powerUses {
	if pw.LimitW <= 0 && !(constrained && pw.HasSpare) {
		return us
	}
	for i := range us {
		if u := &us[i]; u.pw == pw {
			u.gpus += gpus
			u.w += w
			return us
		}
	}
	return append(us, powerUse{pw, kind, gpus, w})
}

// megawatts formats watts as "30.6 MW" or "850.0 kW".
func megawatts(w float64) string {
	if math.Abs(w) >= 1e6 {
		return fmt.Sprintf("%.1f MW", w/1e6)
	}
	return fmt.Sprintf("%.1f kW", w/1e3)
}
