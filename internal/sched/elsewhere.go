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

// sovereigntyOr is the verdict on request r, which failed on the sites
// it may use with free usable GPUs there: a sovereignty verdict when r
// would start now on sites its jurisdictions rule out, else fb (the
// capacity verdict). A sovereignty verdict decides again for each
// request that recalls it (verdict.recheck): the room it names may be
// gone, or too small for a larger request.
func (p *pass) sovereigntyOr(r *place.Request, free int, fb verdict) verdict {
	name := p.modelName(r.Model)
	var decide func(q *place.Request) verdict
	decide = func(q *place.Request) verdict {
		where, tags := p.elsewhere(q)
		if len(where) == 0 {
			v := fb
			if v.render != nil {
				v.msg = v.render(q)
			}
			return v
		}
		msg := fmt.Sprintf("sovereignty: allowed %s; free %s only in %s", setString(tags), name, setString(where))
		switch {
		case q.GPUs == 0: // the CPUs and memory are short, not the GPUs
			msg = fmt.Sprintf("sovereignty: allowed %s; room on %s nodes only in %s", setString(tags), nodeKind(name), setString(where))
		case free >= q.Replicas*q.GPUs: // in pieces, or short of CPUs or memory
			msg = fmt.Sprintf("sovereignty: allowed %s, where %d %s are free but its replicas do not fit; they would in %s",
				setString(tags), free, name, setString(where))
		case free > 0:
			msg = fmt.Sprintf("sovereignty: allowed %s, where %d %s are free, too few; more are free in %s",
				setString(tags), free, name, setString(where))
		}
		return verdict{code: model.ReasonSovereignty, capacity: true, msg: msg, recheck: decide}
	}
	return decide(r)
}

// elsewhere lists, sorted, the jurisdictions (countries) of the sites
// that r's job may not use where r would start now, and the job's
// jurisdiction tags. A request that must stay in one site is probed on
// each country's sites; one that may span sites, on each country's sites
// beside those it may use, then on all of them together (naming the
// countries the placement found uses). Sites where the power share bars
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
	var cand []bool // the sites sovereignty alone rules out
	for pi := range p.c.Pools {
		pool := &p.c.Pools[pi]
		s := pool.Site
		if pool.Model != r.Model || s < 0 || ss.mask[s] || barred != nil && barred[s] {
			continue
		}
		if _, held := p.strictBlock[pi]; held {
			continue
		}
		if cand == nil {
			cand = make([]bool, len(p.c.Sites))
		}
		cand[s] = true
	}
	if cand == nil {
		return nil, ss.tags
	}
	domain := p.modelSites(r.Model)
	if m, ok := p.keptElsewhere(r, cand, domain); ok {
		return m, ss.tags
	}
	where = p.probeElsewhere(r, cand)
	p.keepElsewhere(r, cand, domain, where)
	return where, ss.tags
}

// probeElsewhere is elsewhere's search on candidate sites cand.
func (p *pass) probeElsewhere(r *place.Request, cand []bool) []string {
	// A site none of whose nodes has room for one replica adds nothing:
	// most blocked jobs stop here, with no probe.
	live := make([]bool, len(cand))
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
	span := r.Level >= place.NumLevels && !r.Required && r.Replicas > 1
	probe := func(in func(s int) bool, exists bool) place.Result {
		q := *r
		q.Sites = make([]bool, len(p.c.Sites))
		for s := range q.Sites {
			q.Sites[s] = in(s) || span && r.Sites != nil && r.Sites[s]
		}
		q.Probe, q.Exists = true, exists
		return p.c.Find(&q)
	}
	var where []string
	for _, c := range countries {
		if res := probe(func(s int) bool { return live[s] && p.fac.Sites[s].Country == c }, true); res.OK() {
			where = append(where, c)
		}
	}
	if where != nil || !span || len(countries) < 2 {
		return where
	}
	// only replicas in several countries together would fit
	res := probe(func(s int) bool { return live[s] }, false)
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
// domain being the sites of r's model.
func (p *pass) keptElsewhere(r *place.Request, cand, domain []bool) ([]string, bool) {
	if p.kept == nil || p.c.InWhatIf() || p.c.ChangedIn(domain) {
		return nil, false
	}
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

// keepElsewhere keeps answer where for the next pass, when the pass has
// changed nothing it read.
func (p *pass) keepElsewhere(r *place.Request, cand, domain []bool, where []string) {
	if p.kept == nil || p.c.InWhatIf() || p.c.ChangedIn(domain) {
		return
	}
	p.prep.elsewhere.put(r.Job, &elseMemo{key: keyOf(r), constrained: r.Constrained, sites: slices.Clone(r.Sites),
		cand: cand, read: p.stampOf(domain), where: where})
}
