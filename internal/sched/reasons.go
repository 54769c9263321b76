package sched

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

var levelPhrase = [...]string{"one NVLink domain", "one leaf switch", "one rack", "one hall", "one site"}

// placementVerdict explains a failed Find in the words of the policy that
// blocked it: backfill, power, sovereignty, topology or plain capacity.
// The verdict can re-render its message for a larger request of the same
// class (see recall).
func (p *pass) placementVerdict(j *model.Job, r *place.Request, res *place.Result, tags []string) verdict {
	name := p.modelName(r.Model)
	if r.Constrained && p.res != nil {
		free := *r
		free.Constrained = false
		free.Probe, free.Exists = true, true
		if fr := p.c.Find(&free); fr.OK() {
			return p.backfillVerdict(r.Job)
		}
	}
	if r.MinWattsPerReplica > 0 && res.Rejected.Of(place.FilterPower) > 0 {
		free := *r
		free.MinWattsPerReplica = 0
		free.Probe, free.Exists = true, true
		if fr := p.c.Find(&free); fr.OK() {
			kind, pw, ok := p.c.PowerBlockOf(r, res)
			if checkMemo {
				if k2, pw2, ok2 := p.c.PowerBlock(r); k2 != kind || pw2 != pw || ok2 != ok {
					panic(fmt.Sprintf("sched: power block of %s found with the diagnosis (%s %v) differs from the walk's (%s %v)",
						r.Job.ID, kind, pw != nil, k2, pw2 != nil))
				}
			}
			if ok {
				id, load, limit := pw.ID, pw.LoadW, pw.LimitW
				render := func(r *place.Request) string {
					return fmt.Sprintf("power: %s %s IT load is %s of %s; a replica of %d %s needs %s more",
						kind, id, megawatts(load), megawatts(limit), r.GPUs, name, megawatts(r.MinWattsPerReplica))
				}
				return verdict{code: model.ReasonPower, capacity: true, msg: render(r), render: render}
			}
		}
	}
	if r.Sites != nil && res.Fit < r.Replicas {
		if held, ok := p.neverFits(j, r); !ok {
			// no reservation or preemption cures it: not curable
			return verdict{code: model.ReasonCapacity, msg: fmt.Sprintf(
				"capacity: needs %s %s; the sites it may use (%s) can hold %d such replica(s)%s at most",
				shape(r.Replicas, r.GPUs), name, setString(tags), held, oneSite(r))}
		}
		return p.sovereigntyOr(r, res, tags)
	}
	if res.Fit >= r.Replicas && r.SameNode {
		largest, node := res.Largest, res.LargestGroup
		render := func(r *place.Request) string {
			return fmt.Sprintf("topology: needs %d GPUs on one node; the most free on one node is %d (%s)",
				r.Replicas*r.GPUs, largest*r.GPUs, node)
		}
		return verdict{code: model.ReasonTopology, capacity: true, msg: render(r), render: render}
	}
	if res.Fit >= r.Replicas && r.Level < place.NumLevels && r.Required {
		largest, group := res.Largest, res.LargestGroup
		render := func(r *place.Request) string {
			return fmt.Sprintf("topology: needs %d GPUs in %s; largest free block is %d (%s)",
				r.Replicas*r.GPUs, levelPhrase[r.Level], largest*r.GPUs, group)
		}
		return verdict{code: model.ReasonTopology, capacity: true, msg: render(r), render: render}
	}
	if res.Fit >= r.Replicas {
		render := func(r *place.Request) string {
			return fmt.Sprintf("topology: %s %s fit only across sites; the job may not span sites", shape(r.Replicas, r.GPUs), name)
		}
		return verdict{code: model.ReasonTopology, capacity: true, msg: render(r), render: render}
	}
	return p.capacityVerdict(r, res, tags)
}

// capacityVerdict says what r, which failed on the sites it may use,
// finds there: too few usable free GPUs, or, when the GPUs are free,
// what else is short (shortage.go); and what else keeps some out.
func (p *pass) capacityVerdict(r *place.Request, res *place.Result, tags []string) verdict {
	name := p.modelName(r.Model)
	where := " in any site"
	switch {
	case len(tags) > 0:
		where = " in " + setString(tags)
	case len(p.c.Sites) == 1:
		where = "" // the facility has no other
	}
	free, dirty, rejected := res.FreeGPUs, res.DirtyOther, rejectedString(&res.Rejected)
	claimed, claimedBy, down := res.Claimed, res.ClaimedBy, res.Down
	held, heldFor := p.heldFrom(r)
	sh := p.shortage(r, res)
	render := func(r *place.Request) string {
		if r.GPUs == 0 {
			msg := "capacity: needs " + sh.noGPUs(r, where)
			if rejected != "" {
				msg += " (" + rejected + ")"
			}
			return msg
		}
		msg := fmt.Sprintf("capacity: needs %s %s%s; %d usable free on eligible nodes",
			shape(r.Replicas, r.GPUs), name, where, free)
		if free >= r.Replicas*r.GPUs {
			msg = p.shortageFor(r, &sh).besideGPUs(r, where, free)
		}
		if claimed > 0 {
			msg += fmt.Sprintf("; %d more are claimed by job %s", claimed, claimedBy)
		}
		if held > 0 {
			msg += fmt.Sprintf("; %d more are held for job %s, which waits for its preemption victims", held, heldFor)
		}
		if dirty > 0 {
			msg += fmt.Sprintf("; %d more are dirty from another tenant, awaiting scrub", dirty)
		}
		if down > 0 {
			msg += fmt.Sprintf("; %d more are down, reported lost by their node's agent", down)
		}
		if rejected != "" {
			msg += " (" + rejected + ")"
		}
		return msg
	}
	return verdict{code: model.ReasonCapacity, capacity: true, msg: render(r), render: render, beside: sh.read}
}

// backfillVerdict says that job j, which would still run at the
// reservation's start, would fit but for what the reservation keeps.
func (p *pass) backfillVerdict(j *model.Job) verdict {
	res := p.res
	render := func(r *place.Request) string {
		why := "this job's runtime limit ends after that"
		if r.Job != nil && r.Job.RuntimeLimit <= 0 {
			why = "this job has no runtime limit"
		}
		return fmt.Sprintf("backfill: reserved for job %s (starts ~%s); %s", res.job, res.start.Clock(), why)
	}
	return verdict{code: model.ReasonBackfill, capacity: true, msg: render(&place.Request{Job: j}), render: render, perJob: true}
}

// neverFits reports how many replicas of request r the nodes of the
// sites job j may use (sovereignty: not r's sites, which a pass may
// narrow for a while) could hold with nothing running, GPUs only and in
// one site unless r may span sites, and whether that is enough. The
// count depends on the facility alone and is kept with the site set.
func (p *pass) neverFits(j *model.Job, r *place.Request) (held int, ok bool) {
	ss := p.sitesFor(p.tenants[j.Tenant], j)
	if r.GPUs == 0 || ss.mask == nil {
		return 0, true
	}
	span := r.Level >= place.NumLevels && !r.Required
	k := roomKey{model: r.Model, gpus: r.GPUs, span: span}
	held, known := ss.room[k]
	if !known {
		perSite := make([]int, len(p.c.Sites))
		for pi := range p.c.Pools {
			pool := &p.c.Pools[pi]
			if pool.Model != r.Model || !ss.mask[pool.Site] {
				continue
			}
			for _, n := range pool.Nodes {
				perSite[pool.Site] += p.c.Nodes[n].NGPU / r.GPUs
			}
		}
		for _, k := range perSite {
			if span {
				held += k
			} else {
				held = max(held, k)
			}
		}
		if ss.room == nil {
			ss.room = map[roomKey]int{}
		}
		ss.room[k] = held
	}
	return held, held >= r.Replicas
}

// roomKey is what neverFits counts for a site set: replicas of gpus GPUs
// of a model, in one site or spread.
type roomKey struct {
	model, gpus int
	span        bool
}

// oneSite says, for a reason, that r's replicas must share a site.
func oneSite(r *place.Request) string {
	if r.Replicas > 1 && (r.Level < place.NumLevels || r.Required) {
		return " in one site"
	}
	return ""
}

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func rejectedString(m *place.Rejections) string {
	var parts []string
	for _, f := range []string{place.FilterNodeState, place.FilterSovereignty, place.FilterExclusive, place.FilterPower, place.FilterFailedStart} {
		if n := m.Of(f); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s excluded by %s", n, plural(n, "node", "nodes"), f))
		}
	}
	return strings.Join(parts, ", ")
}

func shape(replicas, gpus int) string {
	if replicas == 1 {
		return fmt.Sprintf("%d", gpus)
	}
	return fmt.Sprintf("%d×%d", replicas, gpus)
}

func setString(s []string) string {
	if len(s) == 0 {
		return "any"
	}
	return "{" + strings.Join(s, ", ") + "}"
}

func modelsString(s []string) string {
	if len(s) == 0 {
		return "any GPU model"
	}
	return strings.Join(s, " or ")
}
