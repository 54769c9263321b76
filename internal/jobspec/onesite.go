package jobspec

import (
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// A gang whose topology is not "any" (site by default, and every
// tighter level) never spans sites: the scheduler places all its
// replicas in one site, on one GPU model, whatever the policy. One
// larger than any site would wait for ever, so the loader refuses it
// with the facility, as it does one larger than the facility. Tighter
// levels bind only while the policy's topology switch is on, which a
// twin's variant or a new facility file may turn off after the job is
// read: their groups are not checked.

// siteRoom is, for replicas of one GPU count, the room of the site and
// model that hold the most of them, and the most all sites hold of one
// model (a gang of topology "any" spans sites, never models).
type siteRoom struct {
	most  int    // replicas the fullest site holds of one model
	site  string // that site
	model string // that model
	span  int    // replicas all sites hold of one model, at most
}

// roomKey is what siteRoom is kept by: the acceptable models (joined)
// and the GPUs per replica.
type roomKey struct {
	models string
	gpus   int
}

// room counts, with nothing running, how many replicas of gpus GPUs of
// one of models each site's nodes hold (a node holds its GPUs / gpus), as
// the scheduler does for a job it cannot start (sched's neverFits), and
// keeps the answer for the next job of that shape.
func (fi *facIndex) room(models []string, gpus int) siteRoom {
	k := roomKey{gpus: gpus}
	for _, m := range models {
		k.models += m + "\x00"
	}
	if r, ok := fi.rooms[k]; ok {
		return r
	}
	type at struct{ site, model string }
	held := map[at]int{}
	for _, n := range fi.fac.Nodes {
		held[at{n.Site, n.GPUModel}] += n.GPUs / gpus
	}
	var r siteRoom
	for _, m := range models {
		span := 0
		for _, site := range fi.siteIDs {
			h := held[at{site, m}]
			span += h
			if h > r.most {
				r.most, r.site, r.model = h, site, m
			}
		}
		r.span = max(r.span, span)
	}
	if fi.rooms == nil {
		fi.rooms = map[roomKey]siteRoom{}
	}
	fi.rooms[k] = r
	return r
}

// checkOneSite refuses a gang that must stay in one site and needs more
// replicas than any site holds of one acceptable model (models), naming
// its replicas as the check of a gang larger than the facility does.
func (fi *facIndex) checkOneSite(s *spec, models []string, c *yamlin.Collector) {
	j := &s.job
	if j.Kind != model.KindJob || j.Replicas < 2 || j.GPUsPerReplica <= 0 || j.Topology.Level == model.LevelAny {
		return
	}
	r := fi.room(models, j.GPUsPerReplica)
	if r.most >= j.Replicas {
		return
	}
	hint := "give fewer replicas"
	if r.span >= j.Replicas {
		hint += `, or topology: any to let the gang span sites`
	}
	// the per-replica check has passed: some node holds one, r.most ≥ 1
	c.Add(s.lineOf(fReplicas), s.fpath(fReplicas), "needs %d GPUs (%d × %d) in one site (topology %s keeps a gang in one site) but the largest site, %s, holds %d such replicas (%d %s GPUs); %s",
		j.Replicas*j.GPUsPerReplica, j.Replicas, j.GPUsPerReplica, j.Topology.Level, yamlin.Truncate(r.site, 40), r.most, r.most*j.GPUsPerReplica, r.model, hint)
}
