package sched

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// This file decides whether sovereignty is what keeps a job from
// starting: only when the job would start now on the sites its
// jurisdictions rule out. Counting free GPUs there is not enough: a gang
// may need more than any of those sites holds, its replicas' CPUs and
// memory may fit on none of their nodes, exclusivity or power may keep
// it off them. A user told "sovereignty" widens the job's jurisdictions,
// so the reason must be true.

// sovereigntyOr is the verdict on request r, which failed (res) on the
// sites it may use with free usable GPUs there: a sovereignty verdict
// when r would start now on sites its jurisdictions rule out, else the
// capacity verdict, made only then. A sovereignty verdict decides again
// for each request that recalls it (verdict.recheck): the room it names
// may be gone, or too small for a larger request.
func (p *pass) sovereigntyOr(r *place.Request, res *place.Result, tags []string) verdict {
	d := &sovDecision{p: p, req: *r, res: *res, tags: tags}
	return d.decide(&d.req)
}

// sovDecision is sovereigntyOr's failure, kept for the requests that
// recall its verdict: a copy of the request (whose attempt later jobs
// reuse) and of its result, and the capacity verdict once made.
type sovDecision struct {
	p        *pass
	req      place.Request
	res      place.Result
	tags     []string
	fb       verdict
	fbMade   bool
	recheck  func(q *place.Request) verdict // d.recall, bound once
	recalled bool                           // a later request asks, not req
}

// decide is the verdict for q: sovereignty, naming where q would fit,
// or the capacity verdict.
func (d *sovDecision) decide(q *place.Request) verdict {
	p := d.p
	where, tags := p.elsewhere(q)
	if len(where) == 0 {
		return d.capacity(q)
	}
	name, free, allowed, in := p.modelName(q.Model), d.res.FreeGPUs, setString(tags), setString(where)
	msg := fmt.Sprintf("sovereignty: allowed %s; free %s only in %s", allowed, name, in)
	switch {
	case q.GPUs == 0: // the CPUs and memory are short, not the GPUs
		msg = fmt.Sprintf("sovereignty: allowed %s; room on %s nodes only in %s", allowed, nodeKind(name), in)
	case free >= q.Replicas*q.GPUs: // in pieces, or short of CPUs or memory
		msg = fmt.Sprintf("sovereignty: allowed %s, where %d %s are free but its replicas do not fit; they would in %s",
			allowed, free, name, in)
	case free > 0:
		msg = fmt.Sprintf("sovereignty: allowed %s, where %d %s are free, too few; more are free in %s",
			allowed, free, name, in)
	}
	if d.recheck == nil {
		d.recheck = d.recall
	}
	return verdict{code: model.ReasonSovereignty, capacity: true, msg: msg, recheck: d.recheck}
}

// recall decides for a later request q that recalls the verdict.
func (d *sovDecision) recall(q *place.Request) verdict {
	d.recalled = true
	return d.decide(q)
}

// capacity is the capacity verdict of the failure, worded for q.
func (d *sovDecision) capacity(q *place.Request) verdict {
	if !d.fbMade {
		d.fb, d.fbMade = d.p.capacityVerdict(&d.req, &d.res, d.tags), true
		if !d.recalled {
			return d.fb // made for q
		}
	}
	v := d.fb
	if v.render != nil {
		v.msg = v.render(q)
	}
	return v
}

// elsewhere lists, sorted, the jurisdictions (countries) of the sites
// that r's job may not use where r would start now, and the job's
// jurisdiction tags. The request is probed on all those sites together
// (beside those it may use, when it may span sites), then, if it fits,
// on each country's alone; a gang that fits only across countries names
// those the placement found uses. Sites where the power share bars
// the model (barredSites) and, with backfill off, those held by an
// earlier blocked job (strictCheck) are left out: those, not
// sovereignty, keep the job from them.
func (p *pass) elsewhere(r *place.Request) (where, tags []string) {
	j := r.Job
	if j == nil || p.tenants[j.Tenant] == nil {
		return nil, nil
	}
	ss := p.sitesFor(p.tenants[j.Tenant], j)
	if ss.mask == nil {
		return nil, ss.tags
	}
	barred := p.barredSites(r.Model)
	n := len(p.c.Sites)
	if len(p.elseBuf) != 3*n {
		p.elseBuf = make([]bool, 3*n)
	}
	cand, any := p.elseBuf[:n:n], false // the sites sovereignty alone rules out
	clear(cand)
	for pi := range p.c.Pools {
		pool := &p.c.Pools[pi]
		s := pool.Site
		if pool.Model != r.Model || s < 0 || ss.mask[s] || barred != nil && barred[s] {
			continue
		}
		if _, held := p.strictBlock[pi]; held {
			continue
		}
		cand[s], any = true, true
	}
	if !any {
		return nil, ss.tags
	}
	// a Queue's pass keeps the answer while it has changed nothing the
	// probes read
	memo := p.kept != nil && !p.c.InWhatIf()
	var domain []bool
	if memo {
		domain = p.modelSites(r.Model)
		memo = !p.c.ChangedIn(domain)
	}
	if memo {
		if m, ok := p.keptElsewhere(r, cand, domain); ok {
			return m, ss.tags
		}
	}
	where = p.probeElsewhere(r, cand)
	if memo {
		p.prep.elsewhere.put(r.Job, &elseMemo{key: keyOf(r), constrained: r.Constrained, sites: slices.Clone(r.Sites),
			cand: slices.Clone(cand), read: p.stampOf(domain), where: where})
	}
	return where, ss.tags
}

// probeElsewhere is elsewhere's search on candidate sites cand.
func (p *pass) probeElsewhere(r *place.Request, cand []bool) []string {
	// A site none of whose nodes has room for one replica adds nothing:
	// most blocked jobs stop here, with no probe.
	n := len(cand)
	live, sites := p.elseBuf[n:2*n:2*n], p.elseBuf[2*n:]
	clear(live)
	for pi := range p.c.Pools {
		if pool := &p.c.Pools[pi]; pool.Model == r.Model && pool.Site >= 0 && cand[pool.Site] && !live[pool.Site] {
			live[pool.Site] = p.roomForOne(pool, r)
		}
	}
	var countries []string
	for s, ok := range live {
		if c := p.fac.Sites[s].Country; ok && !slices.Contains(countries, c) {
			countries = append(countries, c)
		}
	}
	slices.Sort(countries)
	if len(countries) == 0 {
		return nil
	}
	span := r.Level >= place.NumLevels && !r.Required && r.Replicas > 1
	probe := func(in func(s int) bool, exists bool) place.Result {
		q := *r
		q.Sites = sites // Find keeps nothing of the request
		for s := range q.Sites {
			q.Sites[s] = in(s) || span && r.Sites != nil && r.Sites[s]
		}
		q.Probe, q.Exists = true, exists
		return p.c.Find(&q)
	}
	// Room only grows with the sites a request may use, so the probe on
	// all of them first: most jobs that reach it fit nowhere.
	isLive := func(s int) bool { return live[s] }
	if res := probe(isLive, true); !res.OK() {
		return nil
	}
	if len(countries) == 1 {
		return countries
	}
	var where []string
	for _, c := range countries {
		if res := probe(func(s int) bool { return live[s] && p.fac.Sites[s].Country == c }, true); res.OK() {
			where = append(where, c)
		}
	}
	if where != nil || !span {
		return where
	}
	// only replicas in several countries together fit: those the
	// placement found uses
	res := probe(isLive, false)
	for _, sl := range res.Slots {
		if s := p.c.Nodes[sl.Node].Site; s >= 0 && live[s] && !slices.Contains(where, p.fac.Sites[s].Country) {
			where = append(where, p.fac.Sites[s].Country)
		}
	}
	slices.Sort(where)
	return where
}

// roomForOne reports whether a node of pool is up with room for one
// replica of r: usable GPUs, CPUs and memory (filters aside).
func (p *pass) roomForOne(pool *place.Pool, r *place.Request) bool {
	for _, n := range pool.Nodes {
		nd := &p.c.Nodes[n]
		if nd.Up && p.c.UsableBy(int(n), r.Tenant, r.Claim) >= r.GPUs && nd.FreeCPU >= r.CPUs && nd.FreeMem >= r.Mem {
			return true
		}
	}
	return false
}

// elseMemo is elsewhere's answer for a job, kept between passes of a
// Queue while nothing it read changed: the probes read only the pools of
// the request's model, as Find does (see findmemo.go).
type elseMemo struct {
	key         reqKey
	constrained bool
	sites, cand []bool
	read        stamp
	where       []string
}

// elseMemos are the Queue's kept answers, by job: a pass reads the last
// pass's and writes its own.
type elseMemos struct {
	perJob[*elseMemo]
	hits int // for tests
}

// keptElsewhere returns the kept answer for r on candidate sites cand,
// domain being the sites of r's model, which this pass has not changed.
func (p *pass) keptElsewhere(r *place.Request, cand, domain []bool) ([]string, bool) {
	e, _ := p.prep.elsewhere.get(r.Job)
	if e == nil || e.key != keyOf(r) || e.constrained != r.Constrained || !sameSites(e.sites, r.Sites) ||
		!slices.Equal(e.cand, cand) || !p.unchanged(e.read, domain) {
		return nil, false
	}
	p.prep.elsewhere.put(r.Job, e)
	p.prep.elsewhere.hits++
	if checkMemo {
		if got := p.probeElsewhere(r, cand); !slices.Equal(got, e.where) {
			panic(fmt.Sprintf("sched: kept sovereignty answer of %s differs: %v, found again %v", r.Job.ID, e.where, got))
		}
	}
	return e.where, true
}
