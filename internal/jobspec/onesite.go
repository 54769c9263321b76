package jobspec

import "github.com/carnot-dc/carnot/internal/yamlin"

// A gang whose topology is not "any" (site by default, and every
// tighter level) never spans sites: the scheduler places all its
// replicas in one site, on one GPU model, whatever the policy. One
// larger than any site would wait for ever, so the loader refuses it
// with the facility, as it does one larger than the facility. Tighter
// levels bind only while the policy's topology switch is on, which a
// twin's variant or a new facility file may turn off after the job is
// read: their groups are not checked.

// checkOneSite refuses a gang that must stay in one site and needs more
// replicas than any site it may use (a) holds of one acceptable model
// (rooms, one per model), naming its replicas as the check of a gang
// larger than the facility does.
func (fi *facIndex) checkOneSite(s *spec, rooms []modelRoom, a *allowedSites, c *yamlin.Collector) {
	j := &s.job
	if !staysInSite(j) || j.Replicas < 2 || j.GPUsPerReplica <= 0 {
		return
	}
	var best modelRoom
	span := 0
	for _, r := range rooms {
		if r.most > best.most {
			best = r
		}
		span = max(span, r.span)
	}
	if best.most >= j.Replicas {
		return
	}
	hint := "give fewer replicas"
	if span >= j.Replicas {
		hint += `, or topology: any to let the gang span sites`
	}
	largest := "the largest site"
	if a.ids != nil {
		largest += " it may use (" + a.where + ")"
	}
	// the check of the facility has passed: some site holds one
	c.Add(s.lineOf(fReplicas), s.fpath(fReplicas), "needs %d GPUs (%d × %d) in one site (topology %s keeps a gang in one site) but %s, %s, holds %d such %s (%d %s GPUs); %s",
		j.Replicas*j.GPUsPerReplica, j.Replicas, j.GPUsPerReplica, j.Topology.Level, largest, yamlin.Truncate(best.site, 40), best.most,
		plural(best.most, "replica", "replicas"), best.most*j.GPUsPerReplica, best.model, hint)
}
