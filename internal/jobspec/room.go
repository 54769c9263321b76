package jobspec

// The scheduler places a gang, and the replicas a deployment starts
// with, on one GPU model, a whole replica per node: a node holds its
// GPUs / the GPUs per replica of them (sched's neverFits counts the
// same, GPUs only). The checks of a gang larger than the facility
// (onemodel.go) and than any site (onesite.go) count so, per model and
// site, with nothing running.

// modelRoom is what the nodes of one GPU model hold of replicas of one
// GPU count, with nothing running.
type modelRoom struct {
	model string
	span  int    // replicas all sites hold
	most  int    // replicas the fullest site holds
	site  string // that site ("" when none holds one)
}

// roomKey is what a room answer is kept by: the acceptable models (one
// as it is, more each ended by a NUL), the GPUs per replica and the
// sites (allowedSites.key).
type roomKey struct {
	models, sites string
	gpus          int
}

// siteModel is a site and a GPU model of its nodes.
type siteModel struct{ site, model string }

// room counts, for each of models in order, how many replicas of gpus
// GPUs its nodes hold, in all the sites of a and in the fullest one, and
// keeps the answer for the next job of that shape and sites.
func (fi *facIndex) room(models []string, gpus int, a *allowedSites) []modelRoom {
	k := roomKey{gpus: gpus, sites: a.key}
	if len(models) == 1 {
		k.models = models[0] // no allocation: the generator asks once a job
	} else {
		for _, m := range models {
			k.models += m + "\x00"
		}
	}
	if r, ok := fi.rooms[k]; ok {
		return r
	}
	held := fi.heldOf(gpus)
	out := make([]modelRoom, len(models))
	for i, m := range models {
		r := modelRoom{model: m}
		for _, site := range fi.siteIDs {
			if !a.may(site) {
				continue
			}
			h := held[siteModel{site, m}]
			r.span += h
			if h > r.most {
				r.most, r.site = h, site
			}
		}
		out[i] = r
	}
	if fi.rooms == nil {
		fi.rooms = map[roomKey][]modelRoom{}
	}
	fi.rooms[k] = out
	return out
}

// heldOf is, by site and model, the replicas of gpus GPUs the nodes
// hold, counted once per GPU count.
func (fi *facIndex) heldOf(gpus int) map[siteModel]int {
	if h, ok := fi.held[gpus]; ok {
		return h
	}
	h := map[siteModel]int{}
	for _, n := range fi.fac.Nodes {
		if n.GPUs >= gpus {
			h[siteModel{n.Site, n.GPUModel}] += n.GPUs / gpus
		}
	}
	if fi.held == nil {
		fi.held = map[int]map[siteModel]int{}
	}
	fi.held[gpus] = h
	return h
}
