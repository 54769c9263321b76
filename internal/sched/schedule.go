package sched

import (
	"fmt"
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// Schedule computes the plan for one pass. It never mutates snap, and the
// same snapshot and now always give the same plan.
func Schedule(snap *model.Snapshot, now model.Time) model.Plan {
	if snap == nil || snap.Facility == nil {
		return model.Plan{Now: now}
	}
	var queued map[string]bool
	snap, l := recall(snap, &recalls{}, func(id string) bool {
		if queued == nil {
			queued = make(map[string]bool, len(snap.Pending))
			for _, j := range snap.Pending {
				queued[j.ID] = true
			}
		}
		return queued[id]
	})
	p := newPass(snap, now, nil, nil, nil, nil)
	p.lending = l
	p.run(NewQueue(snap.Facility, snap.Pending), 0)
	p.recap()
	return p.finish()
}

// Quick is an event-driven pass in the manner of Slurm's main scheduler,
// for the moments between full passes (a job ended, a job arrived): it
// walks q, the driver's queue (snap.Pending is ignored), in scheduling
// order but considers at most depth jobs (all when depth ≤ 0); jobs that
// would borrow quota are postponed to the end of their priority level as
// in a full pass, and are cheap to pass over. It returns
// a plan for those jobs only — starts, preemptions, deferrals, the
// reservation (but no further estimated starts) and a reason for each
// that stays pending — and the jobs it
// considered. plan.Partial says whether jobs were left unconsidered;
// they keep the reasons of the last full pass. With depth ≤ 0, or one at
// least q.Len(), Quick gives the plan Schedule gives for a snapshot
// whose Pending holds q's jobs, less the jobs q has parked: a job that
// can never start under the facility's quotas (it needs more GPUs than
// its tenant's quota tree gives with nothing running) is explained by
// the pass that first meets it and then left out of q's walks, its
// reason unchanged, until q sees another facility or the job is
// removed. Such a job changes nothing else in a pass, so leaving it out
// changes no other decision.
//
// q keeps the cluster view of the last snapshot and updates it by
// difference. An allocation whose Replicas is the very slice of an
// earlier snapshot counts as unchanged, so a driver that changes an
// allocation's placements must give it a new slice, never write into one
// it has handed to Quick (placements are values). Likewise a node state
// whose GPUs is the very slice of the last snapshot's entry for it
// counts as unchanged: a driver changes a node's GPU states in a new
// slice. The plan's placements share their GPU lists with answers q
// keeps for the next passes: a driver reads them or copies them, and
// never writes into them.
func Quick(snap *model.Snapshot, q *Queue, now model.Time, depth int) (model.Plan, []*model.Job) {
	if snap == nil || snap.Facility == nil || q == nil {
		return model.Plan{Now: now}, nil
	}
	if q.prep.static == nil || q.prep.static.Facility() != snap.Facility {
		q.unparkAll()                                           // another facility: its quotas may let them start
		q.prep = prepared{static: place.Prepare(snap.Facility)} // kept for the next quick pass
		q.restretch(snap.Facility)                              // and its policy and power limits the latest starts
		q.prep.stretch = q.stretch
	}
	pending := func(id string) (string, bool) {
		if j, ok := q.Get(id); ok {
			return j.Tenant, true
		}
		return "", false
	}
	// Loans are taken back before planning: the pass plans on lent jobs
	// at their own caps (recap.go).
	snap, l := recall(snap, &q.recalls, func(id string) bool { _, ok := q.Get(id); return ok })
	// The view of the snapshot is kept in q and brought up to date by
	// difference; the pass plans on it under an undo log, rolled back.
	c, t := q.base.sync(q.prep.static, snap, pending)
	c.Begin()
	defer c.Rollback()
	p := newPass(snap, now, &q.prep, c, &t, pending)
	p.lending = l
	p.quick = depth > 0
	p.kept = &q.base
	p.plan.Partial = p.run(q, depth)
	p.recap()
	for _, j := range p.parked {
		q.park(j) // explained once; the next passes leave it out
	}
	p.parked = p.parked[:0]
	pl := p.finish()
	q.prep.pending = len(pl.Pending)
	p.unshareReleases()
	q.prep.last = p // its maps serve the next pass
	return pl, planned(q, &pl)
}

// planned is the jobs a plan covers: those it starts or explains.
func planned(q *Queue, pl *model.Plan) []*model.Job {
	q.seen = reuse(q.seen)
	seen := q.seen
	out := make([]*model.Job, 0, len(pl.Starts)+len(pl.Pending))
	add := func(id string) {
		if j, ok := q.Get(id); ok && !seen[id] {
			seen[id] = true
			out = append(out, j)
		}
	}
	for _, s := range pl.Starts {
		add(s.Job)
	}
	for _, pe := range pl.Pending {
		add(pe.Job)
	}
	return out
}

// run walks the queue and considers each job, at most limit jobs when
// limit > 0. It reports whether it stopped before the end.
func (p *pass) run(src *Queue, limit int) bool {
	p.src = src
	p.voidHopelessClaims(src)
	q := walk(src, p.pol.FairShare, p.fs, p.now)
	q.first = p.beneficiaries(src)
	considered := 0
	for j, second := q.next(); j != nil; j, second = q.next() {
		if limit > 0 && considered >= limit {
			return true
		}
		if !second && p.wouldBorrow(j) {
			q.postpone(j) // Kueue's rule: work within nominal quota goes first
			continue
		}
		considered++
		p.inFirst, p.nominalOnly = q.inFirst(), !second && p.pol.Quotas
		p.consider(j)
		p.inFirst, p.nominalOnly = false, false
		if p.borrowLater {
			// Only a model on which it would borrow may start it: it
			// is considered again, on every model, in the second round.
			p.borrowLater = false
			q.postpone(j)
			considered--
			continue
		}
		if p.retry {
			// Served first for a claim it cannot use: the job waits at
			// its own turn, so that it takes no reservation or strict hold
			// ahead of a higher priority. Its claim stays until then, as
			// before beneficiaries went first: there it may preempt again
			// (pending "preempting", whose claim plan.Verify counts as
			// held) or give the claim up (giveUpClaims).
			p.retry = false
			q.retry(j)
			considered--
			continue
		}
		if p.isClaimed(j.ID) {
			p.giveUpClaims(j)
		}
	}
	return false
}

// consider decides one job: start it, defer it, preempt for it, reserve
// for it, or say why it waits.
func (p *pass) consider(j *model.Job) {
	if a := p.running(j.ID); a != nil {
		if j.Kind != model.KindDeployment || a.Terminating {
			p.pending(j, verdict{code: model.ReasonInvalid, msg: "invalid: job is already running"}, 0)
			return
		}
		if p.victims[j.ID] { // this pass evicts it: no new replicas
			p.pending(j, verdict{code: model.ReasonPreempting, msg: "preempting: the deployment is being preempted; it scales up no more"}, 0)
			return
		}
		p.deployed[j.ID] = len(a.Replicas) // scale up a running deployment
		if n := p.leavingReplicas(j.ID); n > 0 {
			// replicas leaving for a partial preemption still run
			p.deployed[j.ID] += n
			if p.deployed[j.ID] >= j.Replicas {
				p.pending(j, verdict{code: model.ReasonPreempting, msg: fmt.Sprintf(
					"preempting: %d replica(s) leave for a preemption; the deployment scales up once they have left", n)}, 0)
				return
			}
		}
	}
	t := p.tenants[j.Tenant]
	if v, ok := p.validate(t, j); !ok {
		p.pending(j, v, 0)
		return
	}
	if v, ok := p.hopeless(j); ok {
		p.pending(j, v, 0)
		p.parked = append(p.parked, j)
		return
	}
	if j.EarliestStart > p.now {
		nb, ok := p.prep.notBefore.get(j)
		if !ok || nb.at != j.EarliestStart {
			nb = notBefore{j.EarliestStart, fmt.Sprintf("not-before: earliest start %s", j.EarliestStart)}
		}
		p.prep.notBefore.put(j, nb)
		p.pending(j, verdict{code: model.ReasonNotBefore, msg: nb.msg}, j.EarliestStart)
		return
	}
	ss := p.sitesFor(t, j)
	sites, tags := ss.mask, ss.tags
	p.curSites = ss.id
	if !ss.ok {
		msg := fmt.Sprintf("sovereignty: job allows %s and tenant %s allows %s; no site of the facility satisfies both",
			setString(j.Jurisdictions), j.Tenant, setString(t.Jurisdictions))
		if c := p.fac.DataClasses[j.DataClass]; len(c) > 0 {
			msg = fmt.Sprintf("sovereignty: no site carries one of tenant %s's jurisdictions %s, one of the job's %s and one of data class %s's %s",
				j.Tenant, setString(t.Jurisdictions), setString(j.Jurisdictions), j.DataClass, setString(c))
		}
		p.pending(j, verdict{code: model.ReasonSovereignty, msg: msg}, 0)
		return
	}
	if until, why, ok := p.deferral(j, sites); ok {
		p.plan.Deferrals = append(p.plan.Deferrals, model.Deferral{Job: j.ID, Until: until, Reason: why})
		p.pending(j, verdict{code: model.ReasonDeferred, msg: why}, until)
		return
	}
	if ws := p.waitingFor[j.ID]; len(ws) > 0 {
		last := model.Time(0)
		for _, a := range ws {
			last = max(last, a.EvictAt)
		}
		p.holdForVictims(t, j, sites, ws, last)
		// A victim still there past its eviction (its agent slow to
		// report the end) is overdue: j may start as soon as it is gone.
		msg := fmt.Sprintf("preempting: waiting for %d preempted job(s) to exit (by %s)", len(ws), last)
		if last < p.now {
			msg = fmt.Sprintf("preempting: waiting for %d preempted job(s) to exit (due by %s, overdue)", len(ws), last)
		}
		p.pending(j, verdict{code: model.ReasonPreempting, msg: msg}, max(p.now, last))
		return
	}
	first, attempts := p.tryModels(t, j, sites, tags)
	if first.code == "" {
		return // started
	}
	if p.borrowLater {
		return // the second round tries it where it borrows (see run)
	}
	if n := p.claimDirty[j.ID]; n > 0 {
		p.pending(j, verdict{code: model.ReasonPreempting, msg: fmt.Sprintf(
			"preempting: waiting for %d GPU(s) freed for this job to be scrubbed", n)}, 0)
		return
	}
	ok, note := p.preempt(t, j, attempts)
	if ok {
		return
	}
	if p.inFirst {
		p.retry = true // back to its own turn (see run)
		return
	}
	first.msg += note
	est := model.Time(0)
	first, est = p.reserveOrEstimate(j, first, attempts)
	if j.Deadline > 0 && j.RuntimeLimit > 0 && max(p.now, est).Add(j.RuntimeLimit) > j.Deadline {
		first = verdict{code: model.ReasonDeadline, msg: fmt.Sprintf(
			"deadline: cannot finish by %s any more (runtime limit %s); waits because %s",
			j.Deadline, j.RuntimeLimit, first.msg)}
	}
	p.pending(j, first, est)
}

// maxReplicas bounds a job's replicas; larger values are input errors.
const maxReplicas = 1 << 20

// validate checks what the loaders should already have rejected, so that
// a bad snapshot yields a reason instead of a panic.
func (p *pass) validate(t *model.Tenant, j *model.Job) (verdict, bool) {
	bad := func(format string, a ...any) (verdict, bool) {
		return verdict{code: model.ReasonInvalid, msg: "invalid: " + fmt.Sprintf(format, a...)}, false
	}
	switch {
	case t == nil:
		return bad("unknown tenant %q", j.Tenant)
	case j.Replicas < 1 || j.Replicas > maxReplicas:
		return bad("replicas must be within 1..%d (got %d)", maxReplicas, j.Replicas)
	case j.GPUsPerReplica == 0 && j.CPUsPerReplica == 0 && j.MemGiBPerReplica == 0:
		return bad("a replica must ask for GPUs, CPUs or memory")
	case j.GPUsPerReplica < 0 || j.GPUsPerReplica > 64:
		return bad("gpus per replica must be within 0..64 (got %d)", j.GPUsPerReplica)
	case j.CPUsPerReplica < 0 || j.MemGiBPerReplica < 0:
		return bad("cpus and memory must not be negative")
	case j.Kind == model.KindDeployment && j.MinReplicas > j.Replicas:
		// plan.Verify holds a deployment to its minimum: one above its
		// count could never start as planned (the loader refuses it too)
		return bad("min_replicas %d above replicas %d", j.MinReplicas, j.Replicas)
	}
	if j.PriorityClass != "" && p.classes[j.PriorityClass] == nil {
		return bad("unknown priority class %q", j.PriorityClass)
	}
	if len(t.PriorityClasses) > 0 && !contains(t.PriorityClasses, j.PriorityClass) {
		return bad("tenant %s may not use priority class %q", t.Name, j.PriorityClass)
	}
	if len(p.modelsFor(j)) == 0 {
		return bad("no acceptable GPU model %v exists in the facility", j.GPUModels)
	}
	if _, ok := p.fac.DataClasses[j.DataClass]; j.DataClass != "" && len(p.fac.DataClasses) > 0 && !ok {
		return bad("unknown data class %q", j.DataClass)
	}
	return verdict{}, true
}

// attempt is one model tried for a job.
type attempt struct {
	model int
	req   place.Request
	v     verdict
}

// tryModels tries each acceptable model in order and starts the job on
// the first that passes quota, placement and power. It returns the
// verdict of the first model tried (the preferred one) and every attempt.
// In the first round of a level (nominalOnly) it passes over the models
// on which the job would borrow: a job within its tenant's nominal quota
// of its preferred model, full, fell through to a fallback model and
// borrowed there, ahead of other tenants' jobs within their own nominal
// quota. When it starts on none, and passed over some that its quota
// allows, borrowLater says so: it waits for the second round.
func (p *pass) tryModels(t *model.Tenant, j *model.Job, sites []bool, tags []string) (verdict, []attempt) {
	atts := p.attBuf[:0]
	defer func() { p.attBuf = atts[:0] }()
	later := false
	for _, m := range p.modelsFor(j) {
		if !p.hasPool(m) {
			continue
		}
		atts = append(atts, attempt{model: m, req: p.request(t, j, m, sites)}) // kept if it fails
		a := &atts[len(atts)-1]
		if v, ok := p.quotaCheck(t, j, m, a.req.Constrained); !ok {
			a.v = v
			continue
		}
		if p.nominalOnly && j.GPUsPerReplica > 0 {
			if ti := p.tenantIndex(t.Name); ti >= 0 && p.borrows(ti, j, m) {
				a.v = verdict{code: model.ReasonQuota, msg: fmt.Sprintf(
					"quota: tenant %s would borrow %s; waits for the jobs within nominal quota", t.Name, p.modelName(m))}
				later = true
				continue
			}
		}
		if v, ok := p.shareCheck(&a.req); !ok {
			a.v = v
			continue
		}
		if v, ok := p.strictCheck(j, &a.req); !ok {
			a.v = v
			continue
		}
		if p.place(j, a, tags) {
			return verdict{}, nil
		}
	}
	p.borrowLater = later
	if len(atts) == 0 {
		return verdict{code: model.ReasonCapacity, msg: fmt.Sprintf(
			"capacity: no node has %s", modelsString(j.GPUModels))}, nil
	}
	v := atts[0].v
	if len(atts) > 1 {
		var others []string
		for _, a := range atts[1:] {
			others = append(others, fmt.Sprintf("%s: %s", p.modelName(a.model), a.v.code))
		}
		v.msg += "; other models: " + strings.Join(others, ", ")
	}
	return v, atts
}

func (p *pass) hasPool(m int) bool { return p.poolOf[m] }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// voidHopelessClaims frees, before the walk, the GPUs claimed for queued
// jobs that can never start (pass.hopeless): such a claim would keep GPUs
// idle for nothing. Freeing them first, rather than where the walk meets
// the job, makes a pass that leaves parked jobs out (Quick) decide as one
// that walks them.
func (p *pass) voidHopelessClaims(src *Queue) {
	if len(p.claimed) == 0 {
		return
	}
	var void []string
	for id := range p.claimed {
		if j, ok := src.Get(id); ok {
			if _, valid := p.validate(p.tenants[j.Tenant], j); !valid {
				continue
			}
			if _, hopeless := p.hopeless(j); hopeless {
				void = append(void, id)
			}
		}
	}
	slices.Sort(void) // the same releases in the same order on every run
	for _, id := range void {
		p.releaseClaim(id)
	}
}

// giveUpClaims frees the GPUs claimed for j when j did not start and is
// not waiting for its preemption: a claim holds only while its
// beneficiary is "preempting" (its victims are leaving, or the GPUs they
// freed are being scrubbed). A beneficiary that cannot use them (power,
// quota, work it may not preempt) would otherwise keep them idle.
func (p *pass) giveUpClaims(j *model.Job) {
	n := len(p.plan.Pending)
	if n == 0 || p.plan.Pending[n-1].Job != j.ID || p.plan.Pending[n-1].Code == model.ReasonPreempting {
		return
	}
	p.releaseClaim(j.ID)
}
