package sched

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// This file holds Policy.PowerShare's side of a pass: each site's
// envelope split evenly over its GPUs, and the sites where that share is
// below every cap a model can be set to, where no job of the model can
// start whatever runs.

// shareCheck removes from r's sites those where the power share bars r's
// model (barredSites): otherwise the placement could pick such a site's
// free GPUs while another site has room, and the start would wait for
// power that never comes. It fails, with a reason no reservation or
// preemption cures, when no allowed site is left. Answers are kept for
// the pass by model and allowed sites.
func (p *pass) shareCheck(r *place.Request) (verdict, bool) {
	barred := p.barredSites(r.Model)
	if barred == nil || r.GPUs == 0 {
		return verdict{}, true
	}
	k := strictKey{model: r.Model, sites: r.SitesID}
	if a, ok := p.shareMemo[k]; ok {
		if !a.ok {
			return a.v, false
		}
		r.Sites, r.SitesID = a.sites, a.id
		return verdict{}, true
	}
	if p.shareMemo == nil {
		p.shareMemo = map[strictKey]strictAnswer{}
	}
	has := make([]bool, len(p.c.Sites)) // sites with nodes of the model
	for pi := range p.c.Pools {
		if pool := &p.c.Pools[pi]; pool.Model == r.Model {
			has[pool.Site] = true
		}
	}
	sites := make([]bool, len(p.c.Sites))
	var cut []string
	left := false // some site left has nodes of the model
	for s := range p.c.Sites {
		switch {
		case r.Sites != nil && !r.Sites[s]:
		case barred[s]:
			if has[s] { // the reason names the sites that matter
				share, _ := p.siteShare(s)
				cut = append(cut, fmt.Sprintf("%s (%.0f W)", p.c.Sites[s].ID, float64(p.c.Models[r.Model].IdleWatts)+share))
			}
		default:
			sites[s], left = true, left || has[s]
		}
	}
	switch {
	case cut == nil:
		p.shareMemo[k] = strictAnswer{ok: true, sites: r.Sites, id: r.SitesID}
	case !left:
		gm := p.c.Models[r.Model]
		where := "site " + cut[0] + " gives each GPU at most that"
		if len(cut) > 1 {
			where = "sites " + strings.Join(cut, ", ") + " give each GPU at most the watts shown"
		}
		v := verdict{code: model.ReasonPower, msg: fmt.Sprintf(
			"power: with power_share, %s, below the %s's lowest cap of %d W, so no %s job starts there; raise the envelope or turn power_share off",
			where, gm.Name, gm.MinCapWatts, gm.Name)}
		p.shareMemo[k] = strictAnswer{v: v}
		return v, false
	default:
		r.Sites, r.SitesID = sites, p.maskID(sites)
		p.shareMemo[k] = strictAnswer{ok: true, sites: r.Sites, id: r.SitesID}
	}
	return verdict{}, true
}

// shareBars reports whether, with Policy.PowerShare, the share of some
// site is too small for any cap of model m: powerFor refuses every start
// of m there whatever the loads, which the placement's power filter
// (headroom for the lowest cap) does not see.
func (p *pass) shareBars(m int) bool { return p.barredSites(m) != nil }

// barredSites is, per site, whether the share of site s is too small for
// any cap of model m (Policy.PowerShare); nil when no site is. It
// depends on the facility alone, so it is computed once per model.
func (p *pass) barredSites(m int) []bool {
	if !p.pol.PowerShare || !p.pol.PowerCapping || !p.c.Models[m].CanCap() {
		return nil
	}
	if p.prep.barred == nil {
		p.prep.barred = make([][]bool, len(p.c.Models))
		for mi, gm := range p.c.Models {
			if !gm.CanCap() {
				continue
			}
			var b []bool
			for s := range p.c.Sites {
				share, ok := p.siteShare(s)
				if _, fits := p.capUnder(gm, float64(gm.IdleWatts)+share); ok && !fits {
					if b == nil {
						b = make([]bool, len(p.c.Sites))
					}
					b[s] = true
				}
			}
			p.prep.barred[mi] = b
		}
	}
	return p.prep.barred[m]
}

// siteShare is, with Policy.PowerShare, the watts above idle each GPU of
// site s gets when its envelope is split evenly: the envelope less every
// node's base and idle power, over all the site's GPUs. ok is false for a
// site without an envelope or GPUs.
func (p *pass) siteShare(s int) (float64, bool) {
	if p.prep.shares == nil {
		shares := make([]float64, len(p.c.Sites))
		static := make([]float64, len(p.c.Sites))
		gpus := make([]int, len(p.c.Sites))
		for i := range p.c.Nodes {
			nd := &p.c.Nodes[i]
			if nd.Site < 0 {
				continue
			}
			static[nd.Site] += nd.Spec.BaseWatts
			if nd.Model >= 0 {
				static[nd.Site] += float64(nd.NGPU * p.c.Models[nd.Model].IdleWatts)
				gpus[nd.Site] += nd.NGPU
			}
		}
		for i := range shares {
			shares[i] = -1
			if lim := p.c.Sites[i].LimitW; lim > 0 && gpus[i] > 0 {
				shares[i] = max(0, lim-static[i]) / float64(gpus[i])
			}
		}
		p.prep.shares = shares
	}
	return p.prep.shares[s], p.prep.shares[s] >= 0
}
