package plan

import (
	"errors"
	"fmt"

	"github.com/carnot-dc/carnot/internal/model"
)

// Verify checks plan p against snap, the snapshot it was computed from,
// and returns every violation joined with errors.Join (nil when the plan
// is valid). Each joined error is a *Violation naming the job, node and
// GPU at fault. Verify neither mutates snap nor p.
//
// It checks that:
//   - every pending job appears exactly once in Starts or Pending; a
//     deployment may appear once in each (partly started) and a running
//     deployment may appear in Starts (scale-up); no start or pending
//     entry names an unknown job, and no gang that already runs starts;
//   - each placement is on a known node that is up, uses distinct,
//     in-range GPU indices that no running allocation (terminating ones
//     included) or other start holds, of a model the job accepts, on a
//     site JurisdictionOK allows;
//   - no start gets a GPU that is down (GPUState.Down), and none a dirty
//     GPU unless the GPU's LastTenant is the job's tenant; a dirty GPU
//     without a LastTenant is dirty for every tenant; a GPU down gets
//     that one violation, never one for being dirty or claimed besides;
//   - no start gets a GPU ClaimedBy another pending job that the plan
//     leaves waiting for its preemption (code "preempting"): a preemption
//     frees GPUs for its beneficiary alone, not for its tenant's other
//     jobs, so its victims cannot take them back; once the beneficiary
//     starts, or waits for anything else, the claim holds nothing;
//   - a gang starts exactly Replicas placements of GPUsPerReplica GPUs; a
//     deployment starts at least one and, with its running replicas, at
//     least MinReplicas and at most Replicas;
//   - a gang's replicas with GPUs are all of one GPU model; a gang whose
//     Topology.Level is not LevelAny stays on one site; with
//     Policy.Topology, a gang whose level is Required has all replicas in
//     one group of that level (node; NVLink domain, a node without one
//     being its own; leaf, by default one per rack; rack; hall; site);
//   - per node, CPUs and memory of running and started replicas fit;
//   - an ExclusiveNode job shares no node with another job, and a tenant
//     with Exclusive "node" shares no node with another tenant;
//   - with Policy.Power, the plan raises no site, hall or rack load above
//     its envelope or cap once all of it has run: every start, and every
//     running allocation at its cap after the recaps, raised or lowered
//     (see PowerW), so that a start may use power a recap of the same
//     plan gives back; a load already over may stay over if it ends no
//     higher than before the plan; and every PowerCapW lies in the
//     model's [MinCapWatts, MaxCapWatts]. A violation names the first
//     start on a GPU in the site, hall or rack when the starts go over
//     with only the recaps that lower caps, else the first recap that
//     raises a GPU's draw there;
//   - with Policy.Quotas, each start, taken in plan order on top of all
//     running allocations (terminating ones included), fits what the
//     quota tree (cohorts with nominal, borrowing and lending limits)
//     makes available to its tenant, per GPU model; usage already over
//     quota is not itself a violation;
//   - no start happens before the job's EarliestStart;
//   - each preemption's victim runs, is preemptible and not already
//     terminating, NoticeAt = p.Now, EvictAt = NoticeAt + CheckpointGrace,
//     and the preemption rate limit holds, and none of its replicas still
//     leaves for an earlier partial preemption (model.LeavingJob); a
//     partial one (Replicas) takes
//     replicas its victim, a deployment, runs, each once, and leaves it
//     at least model.KeepsReplicas of them; the rules below judge it on
//     the replicas it takes;
//   - each victim with a pending beneficiary is allowed by priority (with
//     Policy.Preemption: a lower priority class value than the
//     beneficiary's, and, with Policy.Quotas, when the tenants differ and
//     the victim holds GPUs, its tenant shares the beneficiary's cohort
//     tree and uses more than its nominal quota of a model the victim
//     holds) or by reclaim (with Policy.Reclaim and Policy.Quotas: another
//     tenant in the same cohort tree, borrowing a model the victim holds
//     that the beneficiary accepts and of which the beneficiary's tenant
//     stays within nominal with the beneficiary's minimum need, which
//     must be some GPUs: a job without GPUs never reclaims). Both
//     are judged on quota in flight, as the core judges them, bounded
//     over every order the core may have taken: the victim's tenant
//     borrows if it does with the running usage plus the plan's starts
//     and what its beneficiaries (waiting for victims, or the plan's)
//     may need, less its terminating GPUs; the plan's victims of it (of
//     one model, for other tenants) may take it below its nominal quota
//     by priority not at all, and by reclaim by no more than the largest
//     of them; the beneficiary's tenant stays within nominal counting its
//     usage less every GPU leaving it, plus the needs of its jobs waiting
//     for victims and of its other beneficiaries in the plan that only
//     reclaim explains (see verify_victims.go);
//   - each recap is allowed by Policy.Power, PowerCapping and PowerRecap,
//     and is of a running job that is not terminating, that the plan
//     neither starts (a deployment's scale-up) nor preempts, and that no
//     other recap names; its PowerCapW is 0 (uncapped) or within the
//     settable range of every replica's GPU model, which must be able to
//     cap; it changes at least one replica's cap and lowers none below
//     the replica's own (Placement.OwnCapW: the cap it started with when
//     a recap raised it since, else its cap), comparing what a GPU may
//     draw (its cap, or TDP when uncapped): a recap gives back power lent
//     to a replica, never more, so a replica no recap raised cannot be
//     lowered;
//   - each deferral is of a pending job with a Deadline or an
//     EarliestStart that does not start, ends after p.Now, and ends by
//     Deadline − RuntimeLimit when the job has a deadline, the runtime
//     limit stretched to the lowest power cap when the policy and the
//     power limits may cap the job (model.SlowestRun);
//   - each reservation is for a pending job that does not start, on known
//     nodes;
//   - no estimated start (a pending entry's, when set, or a
//     reservation's) lies before p.Now.
func Verify(snap *model.Snapshot, p *model.Plan) error {
	return verify(newFacIndex(snap.Facility).checkIndex(snap), p)
}

// Checker is Verify for many snapshots of one facility: it keeps the
// facility's lookups between calls, which a driver that verifies every
// pass (the digital twin) would otherwise rebuild each time, and what
// the checks fold in of the running allocations of the last snapshot it
// checked (the node of each placement, the running placements on each
// node, the allocations of each job, the loads, the quota usage),
// brought up to date by difference, allocation by allocation: as for
// sched.Quick, a driver that changes an allocation's placements gives it
// a new slice and never writes into one it has handed over, and never
// changes a job in place. So a check folds in the plan and what
// changed; an unchanged allocation costs it a pointer comparison.
// Goroutines may share a Checker (one check at a time uses
// what it keeps, the others work it out in full). The facility must not
// be modified while the Checker is in use.
type Checker struct{ x *facIndex }

// NewChecker prepares the lookups over fac.
func NewChecker(fac *model.Facility) *Checker { return &Checker{x: newFacIndex(fac)} }

// Verify is the package's Verify; snapshots of another facility than the
// Checker's are verified with fresh lookups.
func (c *Checker) Verify(snap *model.Snapshot, p *model.Plan) error {
	if snap.Facility != c.x.fac && !(snap.Facility == nil && len(c.x.fac.Nodes) == 0) {
		return Verify(snap, p)
	}
	ix := c.x.checkIndex(snap)
	ix.keep = true
	return verify(ix, p)
}

func verify(ix *index, p *model.Plan) error {
	v := &verifier{snap: ix.snap, p: p, x: ix}
	defer v.x.release()
	v.coverage()
	v.starts()
	v.preemptions()
	v.recaps()
	v.deferrals()
	v.reservations()
	v.estimates()
	return joinViolations(v.errs)
}

func joinViolations(vs []*Violation) error {
	if len(vs) == 0 {
		return nil
	}
	errs := make([]error, len(vs))
	for i, v := range vs {
		errs[i] = v
	}
	return errors.Join(errs...)
}

type verifier struct {
	snap    *model.Snapshot
	p       *model.Plan
	x       *index
	errs    []*Violation
	started map[string]bool // jobs with a start in p
	q       *quotas         // the snapshot's quota tree, built on first use
	fl      *flight         // the plan's quota in flight, built on first use
	// preempting: jobs pending as "preempting", built on first use
	preempting map[string]bool
}

func (v *verifier) add(code Code, job, node string, gpu int, format string, args ...any) {
	v.errs = append(v.errs, &Violation{Code: code, Job: job, Node: node, GPU: gpu, Msg: fmt.Sprintf(format, args...)})
}

// coverage checks that the plan accounts for each pending job once.
func (v *verifier) coverage() {
	m := &v.x.scratch().maps // emptied by checkIndex
	starts, pend := m.starts, m.pend
	v.started = m.started
	for _, s := range v.p.Starts {
		starts[s.Job]++
		v.started[s.Job] = true
		j := v.x.job(s.Job)
		switch {
		case j == nil:
			v.add(CodeUnknownJob, s.Job, "", -1, "start of a job that is neither pending nor running")
		case j.Kind != model.KindDeployment && v.x.runs(s.Job):
			v.add(CodeRunning, s.Job, "", -1, "start of a job that is already running")
		}
	}
	for _, pe := range v.p.Pending {
		pend[pe.Job]++
		if _, ok := v.x.pending[pe.Job]; !ok {
			v.add(CodeUnknownJob, pe.Job, "", -1, "pending entry for a job the snapshot does not list as pending")
		}
	}
	for _, s := range v.p.Starts {
		if starts[s.Job] > 1 {
			v.add(CodeCoverage, s.Job, "", -1, "started %d times", starts[s.Job])
			starts[s.Job] = 1 // report once
		}
	}
	for _, j := range v.snap.Pending {
		if j == nil {
			continue
		}
		s, pe := starts[j.ID], pend[j.ID]
		switch {
		case pe > 1:
			v.add(CodeCoverage, j.ID, "", -1, "listed %d times in pending", pe)
		case s+pe == 0:
			v.add(CodeCoverage, j.ID, "", -1, "pending job missing from the plan")
		case s+pe > 1 && j.Kind != model.KindDeployment:
			v.add(CodeCoverage, j.ID, "", -1, "both started and pending")
		}
	}
}

func (v *verifier) preemptions() {
	seen := map[string]bool{}
	pol := v.x.fac.Policy
	if len(v.p.Preemptions) > 0 && !pol.Preemption && !pol.Reclaim {
		v.add(CodePreemption, "", "", -1, "%d preemptions while preemption and reclaim are off", len(v.p.Preemptions))
	}
	for i := range v.p.Preemptions {
		pr := &v.p.Preemptions[i]
		as := v.x.running(pr.Victim)
		switch {
		case len(as) == 0:
			v.add(CodePreemption, pr.Victim, "", -1, "victim is not running")
			continue
		case seen[pr.Victim]:
			v.add(CodePreemption, pr.Victim, "", -1, "victim preempted twice")
		case !as[0].Job.Preemptible:
			v.add(CodePreemption, pr.Victim, "", -1, "victim is not preemptible")
		case v.started[pr.Victim]:
			v.add(CodePreemption, pr.Victim, "", -1, "victim also starts replicas in the plan (a deployment's scale-up)")
		}
		seen[pr.Victim] = true
		for _, a := range as {
			if a.Terminating {
				v.add(CodePreemption, pr.Victim, "", -1, "victim is already terminating (evict at %s)", a.EvictAt)
				break
			}
		}
		if ls := v.x.running(model.LeavingID(pr.Victim)); len(ls) > 0 {
			v.add(CodePreemption, pr.Victim, "", -1, "replicas of the victim still leave for an earlier preemption (evict at %s)", ls[0].EvictAt)
		}
		if pr.NoticeAt != v.p.Now {
			v.add(CodePreemption, pr.Victim, "", -1, "notice at %s, want plan time %s", pr.NoticeAt, v.p.Now)
		}
		if want := pr.NoticeAt.Add(as[0].Job.CheckpointGrace); pr.EvictAt != want {
			v.add(CodePreemption, pr.Victim, "", -1, "evict at %s, want notice + grace %s = %s", pr.EvictAt, as[0].Job.CheckpointGrace, want)
		}
		if pr.Partial() {
			v.partial(pr, as)
		}
		if pr.Beneficiary != "" {
			if b, ok := v.x.pending[pr.Beneficiary]; !ok {
				v.add(CodePreemption, pr.Victim, "", -1, "beneficiary %s is not a pending job", pr.Beneficiary)
			} else {
				v.victim(as[0].Job, v.taken(pr), b)
			}
		}
	}
	if limit := pol.PreemptionRateLimit; limit > 0 && len(v.p.Preemptions) > 0 {
		recent := 0
		for _, t := range v.snap.RecentPreemptions {
			if t <= v.p.Now && v.p.Now.Sub(t) < pol.PreemptionWindow {
				recent++
			}
		}
		if recent+len(v.p.Preemptions) > limit {
			v.add(CodeRateLimit, "", "", -1, "%d recent + %d new preemptions exceed the limit of %d per %s",
				recent, len(v.p.Preemptions), limit, pol.PreemptionWindow)
		}
	}
}

func (v *verifier) deferrals() {
	for _, d := range v.p.Deferrals {
		j, ok := v.x.pending[d.Job]
		if !ok {
			v.add(CodeDeferral, d.Job, "", -1, "deferral of a job that is not pending")
			continue
		}
		if v.started[d.Job] {
			v.add(CodeDeferral, d.Job, "", -1, "job both deferred and started")
		}
		if j.Deadline == 0 && j.EarliestStart == 0 {
			v.add(CodeInflexible, d.Job, "", -1, "deferral of a job with neither a deadline nor an earliest start")
		}
		if d.Until <= v.p.Now {
			v.add(CodeDeferPast, d.Job, "", -1, "deferred until %s, not after the plan time %s", d.Until, v.p.Now)
		}
		if j.Deadline > 0 {
			run := model.SlowestRun(j, v.x.speeds)
			if latest := j.Deadline - model.Time(run); d.Until > latest {
				how := fmt.Sprintf("limit %s", j.RuntimeLimit)
				if run != j.RuntimeLimit {
					how = fmt.Sprintf("limit %s run at the lowest power cap: %s", j.RuntimeLimit, run)
				}
				v.add(CodeDeferral, d.Job, "", -1, "deferred until %s, past the latest start %s (deadline %s - %s)",
					d.Until, latest, j.Deadline, how)
			}
		}
	}
}

func (v *verifier) reservations() {
	for _, r := range v.p.Reservations {
		if _, ok := v.x.pending[r.Job]; !ok {
			v.add(CodeReservation, r.Job, "", -1, "reservation for a job that is not pending")
		} else if v.started[r.Job] {
			v.add(CodeReservation, r.Job, "", -1, "reservation for a job that starts in the same plan")
		}
		for _, n := range r.Nodes {
			if _, ok := v.x.nodes[n]; !ok {
				v.add(CodeReservation, r.Job, n, -1, "reservation on an unknown node")
			}
		}
	}
}

// estimates checks that no estimated start lies before the plan time:
// pending entries may leave EstStart unset (0), reservations may not.
func (v *verifier) estimates() {
	for _, pe := range v.p.Pending {
		if pe.EstStart != 0 && pe.EstStart < v.p.Now {
			v.add(CodeEstStart, pe.Job, "", -1, "pending with an estimated start %s before the plan time %s", pe.EstStart, v.p.Now)
		}
	}
	for _, r := range v.p.Reservations {
		if r.EstStart < v.p.Now {
			v.add(CodeEstStart, r.Job, "", -1, "reservation with an estimated start %s before the plan time %s", r.EstStart, v.p.Now)
		}
	}
}
