package sched

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// The reservation's estimate kept between passes. A quick pass
// estimates the start of its first blocked job again at every instant,
// and most instants change nothing the estimate reads: it reads the
// nodes of the sites its request may use (their GPUs, power, releases),
// and the view's versions (place/version.go) tell whether those
// changed. An estimate with no hold before it (the reservation; holds
// are later jobs' estimates) is kept with the versions of its sites; the
// next pass takes it as it is when the request is the same, none of
// those sites changed in the view or in the pass so far, and no release
// on them has come due since. Releases already due are expected now, at
// either pass's now: the same releases, in the same order (by job ID),
// so an estimate that found room once they are in finds it "now" again.
// All this holds as long as the estimate finds room only where the start
// would (earliest checks what powerFor checks beyond Find): room the
// start never gets would be found at the first release anywhere, on a
// site outside the domain too.

// estMemo is one kept estimate.
type estMemo struct {
	key   reqKey
	sites []bool // the request's allowed sites (nil: all)
	read  stamp  // the sites it reads
	// valid while now lies in [from, until): until is the first release
	// on the domain's nodes not due at from
	from, until model.Time
	at          model.Time
	atNow       bool // at was from: the answer is now
	ok          bool
	slots       []place.Slot
	then        []slotThen
}

// reqKey is a placement request less its sites (compared apart) and
// the flags earliest sets itself.
type reqKey struct {
	tenant, claim                   string
	tenantExcl, exclusive           bool
	model, replicas, gpus, cpus, mm int
	level                           int
	required, sameNode              bool
	minW                            float64
	job                             *model.Job
	avoid                           int // len(Avoid): a job's list only grows
}

func keyOf(r *place.Request) reqKey {
	return reqKey{tenant: r.Tenant, claim: r.Claim, tenantExcl: r.TenantExcl, exclusive: r.ExclusiveNode,
		model: r.Model, replicas: r.Replicas, gpus: r.GPUs, cpus: r.CPUs, mm: r.Mem, level: r.Level,
		required: r.Required, sameNode: r.SameNode, minW: r.MinWattsPerReplica, job: r.Job, avoid: len(r.Avoid)}
}

// estMemos are the Queue's kept estimates: a pass reads the last pass's
// and writes its own.
type estMemos struct {
	perJob[*estMemo]
	hits int // for tests
}

// checkMemo makes every estimate taken from the memo be made again and
// compared (a test turns it on).
var checkMemo = false

// estimate is earliest, through the memo where the pass plans on a kept
// view and no hold comes before it.
func (p *pass) estimate(req place.Request, tenant string, wantThen bool) (model.Time, []place.Slot, *futureState, bool) {
	if p.kept == nil || len(p.holds) > 0 || req.Job == nil || !wantThen {
		return p.earliest(req, tenant, wantThen)
	}
	key, domain := keyOf(&req), p.domainOf(&req)
	if p.c.ChangedIn(domain) { // the pass changed a site it reads
		return p.earliest(req, tenant, wantThen)
	}
	if e, _ := p.prep.memos.get(req.Job); e != nil && p.memoHolds(e, key, &req, domain) {
		p.prep.memos.put(req.Job, e)
		p.prep.memos.hits++
		at := e.at
		if e.atNow {
			at = p.now
		}
		if e.ok { // with no hold the answer is the first fit: the hint
			p.noteHint(req.Job, req.Model, at)
		} else {
			p.noteHint(req.Job, req.Model, model.Forever)
		}
		then := &p.scratchMaps().then
		then.slots = append(then.slots[:0], e.then...)
		if checkMemo {
			p.checkEstimate(e, req, tenant)
		}
		return at, e.slots, then, e.ok
	}
	at, slots, then, ok := p.earliest(req, tenant, wantThen)
	e := &estMemo{key: key, sites: slices.Clone(req.Sites), read: p.stampOf(domain), from: p.now,
		until: p.firstRelease(domain), at: at, atNow: ok && at == p.now, ok: ok, slots: slots}
	if then != nil {
		e.then = slices.Clone(then.slots)
	}
	p.prep.memos.put(req.Job, e)
	return at, slots, then, ok
}

// memoHolds reports whether e answers req now.
func (p *pass) memoHolds(e *estMemo, key reqKey, req *place.Request, domain []bool) bool {
	return e.key == key && p.now >= e.from && p.now < e.until && sameSites(e.sites, req.Sites) && p.unchanged(e.read, domain)
}

// sameSites reports whether two allowed-site masks say the same (nil:
// every site).
func sameSites(a, b []bool) bool { return (a == nil) == (b == nil) && slices.Equal(a, b) }

// stamp is what a kept answer read: a cluster view and the versions of
// the sites of its domain (which its key and the view decide).
type stamp struct {
	uid  uint64
	vers []uint64 // by site; 0 outside the domain
}

func (p *pass) stampOf(domain []bool) stamp {
	st := stamp{uid: p.c.UID(), vers: make([]uint64, len(domain))}
	for s, in := range domain {
		if in {
			st.vers[s] = p.c.Version(s)
		}
	}
	return st
}

// unchanged reports whether st read domain on this view and none of its
// sites has changed since.
func (p *pass) unchanged(st stamp, domain []bool) bool {
	if st.uid != p.c.UID() || len(st.vers) != len(domain) {
		return false
	}
	for s, in := range domain {
		if in && st.vers[s] != p.c.Version(s) {
			return false
		}
	}
	return true
}

// domainOf is the sites a request's estimate reads: those it may use
// that have a pool of its model, or every site when a hall or rack spans
// sites (the estimate then reads the power, and so the releases, of
// nodes on other sites).
func (p *pass) domainOf(r *place.Request) []bool {
	d := make([]bool, len(p.c.Sites))
	if p.c.SpansSites() {
		for s := range d {
			d[s] = true
		}
		return d
	}
	for i := range p.c.Pools {
		if pool := &p.c.Pools[i]; pool.Model == r.Model && (r.Sites == nil || r.Sites[pool.Site]) {
			d[pool.Site] = true
		}
	}
	return d
}

// firstRelease is the first release on a node of the domain's sites
// that is not due now (model.Forever when none); the releases are
// sorted, those due now at now.
func (p *pass) firstRelease(domain []bool) model.Time {
	for i := range p.releases {
		r := &p.releases[i]
		if r.at <= p.now {
			continue
		}
		for k := range r.reps {
			if n, ok := p.releaseNode(r, k); ok {
				if s := p.c.Nodes[n].Site; s < 0 || domain[s] {
					return r.at
				}
			}
		}
	}
	return model.Forever
}

// checkEstimate makes the estimate e answered again and panics when the
// two differ (checkMemo).
func (p *pass) checkEstimate(e *estMemo, req place.Request, tenant string) {
	kept := append([]slotThen(nil), e.then...)
	at, slots, then, ok := p.earliest(req, tenant, true)
	want := e.at
	if e.atNow {
		want = p.now
	}
	var got []slotThen
	if then != nil {
		got = then.slots
	}
	if at != want || ok != e.ok || !sameSlots(slots, e.slots) || !slices.Equal(got, kept) {
		panic(fmt.Sprintf("sched: kept estimate of %s differs: at %d ok %v slots %v, made again at %d ok %v slots %v",
			req.Job.ID, want, e.ok, e.slots, at, ok, slots))
	}
	p.scratchMaps().then.slots = append(p.scratchMaps().then.slots[:0], kept...)
}
