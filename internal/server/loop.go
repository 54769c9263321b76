package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// gapAfter is the number of jobs a pass must consider for the loop to
// wait Config.PassGap before the next: a burst of submissions is taken in
// batches, a lone submission at once.
const gapAfter = 32

// pass is one turn of the scheduler loop (see the package doc). It
// returns the number of jobs it considered.
func (s *Server) pass(ctx context.Context) int {
	s.mu.Lock()
	if s.failed != nil {
		s.mu.Unlock()
		return 0
	}
	now := s.cfg.Now()
	clear(s.gone) // this pass names none of them (forgetFinal)
	c := newChanges()
	s.checkSilentNodes(now, c)
	s.loseDue(now, c)
	s.releaseDue(now, c)
	s.flushUsage(now, c)
	s.endQueuedOrphans(now, c)
	s.cancelBrokenDeps(now, c)
	if err := s.commit(ctx, c); err != nil {
		s.fail(err)
		s.mu.Unlock()
		return 0
	}
	for _, op := range s.queueOps {
		if op.add != nil {
			s.queue.Add(op.add)
		} else {
			s.queue.Remove(op.remove)
		}
	}
	clear(s.queueOps)
	s.queueOps = s.queueOps[:0]
	if s.queue.Len() == 0 && !s.mayRecap() {
		s.wake = time.Time{}
		s.mu.Unlock()
		return 0
	}
	s.freed = false
	depth := s.cfg.PassDepth
	if !now.Before(s.nextFull) {
		depth = 0
		s.nextFull = now.Add(s.cfg.FullPassEvery)
	}
	snap := s.snapshot(now)
	s.mu.Unlock()

	// The queue is the loop's: the core walks it without the lock.
	t0 := time.Now()
	p, considered := s.schedule(snap, s.queue, model.TimeOf(now), depth)
	took := time.Since(t0)
	s.metrics.passSeconds.Observe(took.Seconds())
	snap.Pending = considered

	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.snapshot(s.cfg.Now())
	dropped := s.holdingPart(&p, snap, cur)
	c = newChanges()
	s.apply(&p, now, c)
	if err := s.commit(ctx, c); err != nil {
		s.fail(err)
		return len(considered)
	}
	s.lastPlan = planDoc(&p, now, took, dropped, func(st model.Start) []api.Replica {
		// a start's replicas are the last of its job's record (startJob)
		if js := s.jobs[st.Job]; js != nil && len(js.doc.Replicas) >= len(st.Replicas) {
			return js.doc.Replicas[len(js.doc.Replicas)-len(st.Replicas):]
		}
		return nil
	}, s.takenReplicas)
	return len(considered)
}

// snapshot is the state as the core sees it, without pending jobs (the
// loop's queue holds them). Caller holds mu.
func (s *Server) snapshot(now time.Time) *model.Snapshot {
	snap := &model.Snapshot{
		Facility:          s.fac,
		Nodes:             s.nodeStates(),
		Grid:              s.cfg.Grid,
		RecentPreemptions: slices.Clone(s.recent),
	}
	if len(s.avoid) > 0 { // its lists are replaced, never changed in place
		snap.AvoidNodes = maps.Clone(s.avoid)
	}
	for _, id := range sortedKeys(s.running) {
		js := s.running[id]
		ckpt := js.lastCheckpoint()
		if js.part != nil { // its replicas leaving for a partial preemption
			p := js.countedPart()
			p.LastCheckpoint = ckpt
			snap.Running = append(snap.Running, p)
		}
		a := *js.alloc
		a.Replicas = js.countedReplicas() // at the power limits in force
		a.LastCheckpoint = ckpt
		snap.Running = append(snap.Running, a)
	}
	for _, t := range sortedKeys(s.usage) {
		snap.Usage = append(snap.Usage, *s.usage[t])
	}
	return snap
}

// lastCheckpoint is the core's view of the last checkpoint js's attempt
// reported (api.Job.LastCheckpoint): the work lost if it is preempted is
// its GPU-time since then. 0 (none: since its start) until it reports
// one; startJob drops it at each new attempt, as the twin starts each
// run's checkpoints afresh.
func (js *jobState) lastCheckpoint() model.Time {
	if c := js.doc.LastCheckpoint; c != nil {
		return model.TimeOf(*c)
	}
	return 0
}

// holdingPart trims p, computed on snap, to what still holds on cur, the
// state at commit: entries of jobs no longer pending (cancelled during
// the pass) go, and recaps that no longer hold (recapHolds: a job that
// ended, is being stopped or is a victim of p, a recap that changes no
// cap or would take a replica below its own); then plan.Verify against
// cur drops each start, preemption or recap it finds a violation for,
// with the job's deferral, reservation and estimated start (a start
// that needed the power a dropped recap would have given back goes in
// the next round). It returns the dropped starts' jobs.
func (s *Server) holdingPart(p *model.Plan, snap, cur *model.Snapshot) []string {
	still := map[string]bool{}
	var pending []*model.Job
	for _, j := range snap.Pending {
		if js := s.jobs[j.ID]; js != nil && js.job == j && js.pending() {
			still[j.ID] = true
			pending = append(pending, j)
		}
	}
	cur.Pending = pending
	var dropped []string
	keep := func(id string) bool { return still[id] }
	p.Starts = slices.DeleteFunc(p.Starts, func(st model.Start) bool { return !keep(st.Job) })
	p.Pending = slices.DeleteFunc(p.Pending, func(pe model.Pending) bool { return !keep(pe.Job) })
	p.Deferrals = slices.DeleteFunc(p.Deferrals, func(d model.Deferral) bool { return !keep(d.Job) })
	p.Reservations = slices.DeleteFunc(p.Reservations, func(r model.Reservation) bool { return !keep(r.Job) })
	p.Preemptions = slices.DeleteFunc(p.Preemptions, func(pr model.Preemption) bool {
		v := s.jobs[pr.Victim]
		return !keep(pr.Beneficiary) || v == nil || v.alloc == nil || v.stop != stopNone || v.part != nil
	})
	victims := map[string]bool{}
	for _, pr := range p.Preemptions {
		victims[pr.Victim] = true
	}
	p.Recaps = slices.DeleteFunc(p.Recaps, func(rc model.Recap) bool { return !s.recapHolds(rc, victims) })
	for round := 0; ; round++ {
		err := plan.Verify(cur, p)
		if err == nil {
			return dropped
		}
		if round == 3 {
			s.log.Error("plan still does not hold at commit after dropping what failed; dropping its starts, preemptions and recaps", "err", err)
			for _, st := range p.Starts {
				dropped = append(dropped, st.Job)
			}
			p.Starts, p.Preemptions, p.Recaps = nil, nil, nil
			return dropped
		}
		bad := map[string]bool{}
		for _, v := range plan.Violations(err) {
			bad[v.Job] = true
		}
		if len(bad) == 0 || bad[""] {
			s.log.Error("plan does not hold at commit; dropping its starts, preemptions and recaps", "err", err)
			for _, st := range p.Starts {
				dropped = append(dropped, st.Job)
			}
			p.Starts, p.Preemptions, p.Recaps = nil, nil, nil
			return dropped
		}
		s.log.Warn("plan entries no longer hold at commit", "err", err)
		p.Starts = slices.DeleteFunc(p.Starts, func(st model.Start) bool {
			if bad[st.Job] {
				dropped = append(dropped, st.Job)
				p.Pending = append(p.Pending, model.Pending{Job: st.Job, Code: model.ReasonCapacity, Message: "the state changed during the pass; next pass"})
				return true
			}
			return false
		})
		p.Preemptions = slices.DeleteFunc(p.Preemptions, func(pr model.Preemption) bool { return bad[pr.Victim] || bad[pr.Beneficiary] })
		p.Recaps = slices.DeleteFunc(p.Recaps, func(rc model.Recap) bool { return bad[rc.Job] })
		// A bad job's deferral, reservation and estimate go too: left,
		// they would fail every round until the whole plan went.
		p.Deferrals = slices.DeleteFunc(p.Deferrals, func(d model.Deferral) bool { return bad[d.Job] })
		p.Reservations = slices.DeleteFunc(p.Reservations, func(r model.Reservation) bool { return bad[r.Job] })
		for i := range p.Pending {
			if bad[p.Pending[i].Job] {
				p.Pending[i].EstStart = 0
			}
		}
	}
}

// apply commits a checked plan to memory, recording what changed in c.
// Caller holds mu.
func (s *Server) apply(p *model.Plan, now time.Time, c *changes) {
	for _, st := range p.Starts {
		if js := s.jobs[st.Job]; js != nil {
			s.startJob(js, st, now, c)
		}
	}
	for i := range p.Preemptions {
		pr := &p.Preemptions[i]
		v := s.jobs[pr.Victim]
		if v == nil || v.alloc == nil {
			continue
		}
		if pr.Partial() {
			s.takeReplicas(v, pr, now, c)
			continue
		}
		v.alloc.PreemptedFor = pr.Beneficiary
		v.doc.PreemptedFor, v.doc.PreemptedAt = pr.Beneficiary, ptrTime(now.UTC()) // stored: a new leader knows them
		v.doc.State = api.StatePreempting
		v.doc.Preemptions++
		s.recent = append(s.recent, model.TimeOf(now))
		full := fmt.Sprintf("preempted for %s: %s", pr.Beneficiary, pr.Reason)
		msg := s.ownView(v.doc.Tenant, full)
		v.doc.Message = msg // read back as the stop's reason after a restart
		s.stopAttempt(v, stopPreempt, msg, s.graceOf(v.job), now, c)
		v.alloc.EvictAt = pr.EvictAt
		c.job(v, api.EventPreempt, msg)
		if b := s.jobs[pr.Beneficiary]; b != nil && b.doc.Tenant != v.doc.Tenant {
			// who preempted whom across tenants, for operators and the
			// audit log: an event of neither tenant
			c.events = append(c.events, api.Event{Type: api.EventPreempt, Message: fmt.Sprintf(
				"job %s of tenant %s preempted for job %s of tenant %s: %s", v.doc.ID, v.doc.Tenant, b.doc.ID, b.doc.Tenant, pr.Reason)})
		}
	}
	s.pruneRecent(now)
	// Recaps: raised into the power the pass's starts left, or lowered to
	// give lent power back to them. One commit holds both, and wakes the
	// agents of the starts' nodes and of the recapped jobs' together.
	var lows []api.PowerWait
	p.Recaps = slices.DeleteFunc(p.Recaps, func(rc model.Recap) bool {
		l := s.lowerings(rc) // before it applies
		if !s.recapJob(rc, c) {
			return true
		}
		lows = append(lows, l...)
		return false
	})
	// Starts on power the recaps take back wait for the lower limits
	// (capwait.go).
	for _, st := range p.Starts {
		if js := s.jobs[st.Job]; js != nil && js.alloc != nil {
			s.holdForLowerings(js, st, lows, c)
		}
	}
	wake := time.Time{}
	later := func(t model.Time) {
		w := time.Unix(int64(t), 0)
		if t > 0 && t < model.Forever && w.After(now) && (wake.IsZero() || w.Before(wake)) {
			wake = w
		}
	}
	for _, d := range p.Deferrals {
		later(d.Until)
	}
	for _, pe := range p.Pending {
		js := s.jobs[pe.Job]
		if js == nil || js.doc.State != api.StatePending {
			continue
		}
		if pe.Code == model.ReasonNotBefore || pe.Code == model.ReasonDeferred {
			later(pe.EstStart)
		}
		r := &api.Reason{Code: string(pe.Code), Message: s.ownView(js.doc.Tenant, pe.Message), Pass: now.UTC()}
		if pe.EstStart > 0 && pe.EstStart < model.Forever {
			r.EstStart = ptrTime(time.Unix(int64(pe.EstStart), 0).UTC())
		}
		// Reasons live in memory: every pass recomputes them, and a
		// restarted server has them again after its first pass. Only a
		// deferral is recorded, as an event.
		old := js.doc.Reason
		js.doc.Reason, js.doc.Message = r, r.Message
		if pe.Code == model.ReasonDeferred && (old == nil || old.Code != r.Code || old.Message != r.Message) {
			c.events = append(c.events, api.Event{Job: js.doc.ID, Tenant: js.doc.Tenant, Type: api.EventDeferred, Message: r.Message})
		}
	}
	s.wake = wake
}

// pruneRecent keeps the preemption times inside the rate-limit window.
func (s *Server) pruneRecent(now time.Time) {
	w := s.fac.Policy.PreemptionWindow
	if w <= 0 {
		w = model.Hour
	}
	cut := model.TimeOf(now) - model.Time(w)
	s.recent = slices.DeleteFunc(s.recent, func(t model.Time) bool { return t < cut })
}

// fail stops trusting memory after a failed commit: memory may be ahead
// of the store, and what the server's successor loads from the store must
// be all it ever acknowledged. From now on the server is not ready, the
// loop leaves the state alone and returns ErrCommitFailed (it is woken for
// that), commit refuses every change (an agent's report the server took
// into memory only is answered 503, so the agent reports it again to the
// successor) and handleAssignments answers no agent from memory (the long
// polls waiting are woken to hear so). Caller holds mu.
func (s *Server) fail(err error) {
	if s.failed != nil {
		return
	}
	s.log.Error("commit failed; the server stops scheduling and reloads from the store", "err", err)
	s.ready = false
	s.failed = err
	for _, n := range s.nodes {
		n.wake() // their polls hear that nothing is answered from memory
	}
	s.Kick()
}

// planDoc is the API's view of a plan; started gives the records of a
// start's replicas, for their indices and ranks (a running deployment's
// scale-up goes on from the replicas it had, in the ranks free), taken
// the records of the replicas a partial preemption takes.
func planDoc(p *model.Plan, now time.Time, took time.Duration, dropped []string, started func(model.Start) []api.Replica, taken func(model.Preemption) []api.Replica) api.Plan {
	d := api.Plan{Pass: now.UTC(), DurationMS: float64(took.Microseconds()) / 1000, Dropped: dropped,
		Starts: []api.PlanStart{}, Preemptions: []api.PlanPreempt{}, Deferrals: []api.PlanDefer{}, Pending: []api.PlanPending{},
		Recaps: []api.PlanRecap{}}
	for _, st := range p.Starts {
		ps := api.PlanStart{Job: st.Job}
		recs := started(st)
		for i, r := range st.Replicas {
			rp := api.Replica{Index: i, Rank: i, Node: r.Node, GPUs: r.GPUs, PowerCapW: r.PowerCapW, State: api.ReplicaAssigned}
			if i < len(recs) {
				rp.Index, rp.Rank = recs[i].Index, recs[i].Rank
			}
			ps.Replicas = append(ps.Replicas, rp)
		}
		d.Starts = append(d.Starts, ps)
	}
	for _, pr := range p.Preemptions {
		pp := api.PlanPreempt{Victim: pr.Victim, Beneficiary: pr.Beneficiary, Reason: pr.Reason, EvictAt: time.Unix(int64(pr.EvictAt), 0).UTC()}
		if pr.Partial() && taken != nil {
			pp.Replicas = taken(pr)
		}
		d.Preemptions = append(d.Preemptions, pp)
	}
	for _, df := range p.Deferrals {
		d.Deferrals = append(d.Deferrals, api.PlanDefer{Job: df.Job, Until: time.Unix(int64(df.Until), 0).UTC(), Reason: df.Reason})
	}
	for _, rc := range p.Recaps {
		d.Recaps = append(d.Recaps, api.PlanRecap{Job: rc.Job, PowerCapW: rc.PowerCapW, PowerW: rc.PowerW})
	}
	for _, pe := range p.Pending {
		pp := api.PlanPending{Job: pe.Job, Code: string(pe.Code), Message: pe.Message}
		if pe.EstStart > 0 && pe.EstStart < model.Forever {
			pp.EstStart = ptrTime(time.Unix(int64(pe.EstStart), 0).UTC())
		}
		d.Pending = append(d.Pending, pp)
	}
	return d
}
