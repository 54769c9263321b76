package server

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// startJob applies a plan's start: the attempt's replicas are assigned to
// their nodes (a running deployment gains replicas).
func (s *Server) startJob(js *jobState, st model.Start, now time.Time, c *changes) {
	if js.alloc != nil && js.job.Kind == model.KindDeployment {
		js.doc.Replicas = dropReplaced(js.doc.Replicas)
		ranks, next := freeRanks(js, len(st.Replicas)), js.doc.Replicas[len(js.doc.Replicas)-1].Index+1
		for k, p := range st.Replicas {
			s.assign(js, p, next+k, ranks[k], now, c)
		}
		js.alloc.Replicas = append(js.alloc.Replicas[:len(js.alloc.Replicas):len(js.alloc.Replicas)], st.Replicas...)
		runsOn(js)
		s.metrics.placements.Add(float64(len(st.Replicas)))
		more := fmt.Sprintf("%d more replicas", len(st.Replicas))
		if len(st.Replicas) == 1 {
			more = "1 more replica"
		}
		c.job(js, api.EventStarted, fmt.Sprintf("%s on %s%s", more, placements(st.Replicas), s.sitesIn(st.Replicas)))
		s.unclaim(js.doc.ID)
		s.requeue(js)
		return
	}
	if js.doc.Attempt > 0 && len(js.doc.Replicas) > 0 {
		// Nodes[i] is replica i's node, unless a deployment dropped
		// replicas from its record (dropReplaced): then Indices says.
		past := api.PastAttempt{Attempt: js.doc.Attempt, StartTime: js.doc.StartTime}
		gaps := false
		for i, r := range js.doc.Replicas {
			past.Nodes = append(past.Nodes, r.Node)
			gaps = gaps || r.Index != i
		}
		if gaps {
			for _, r := range js.doc.Replicas {
				past.Indices = append(past.Indices, r.Index)
			}
		}
		js.doc.PastAttempts = append(js.doc.PastAttempts, past)
		if n := len(js.doc.PastAttempts); n > api.MaxPastAttempts {
			js.doc.PastAttempts = slices.Clone(js.doc.PastAttempts[n-api.MaxPastAttempts:])
		}
	}
	js.doc.Attempt++
	js.doc.State = api.StateRunning
	js.doc.StartTime = ptrTime(now.UTC())
	js.doc.LastCheckpoint = nil // the new attempt's own, once it reports one
	js.doc.ExitCode = nil
	js.doc.Reason = nil
	js.doc.Message = where(js, "started", st.Replicas)
	js.doc.Replicas = nil
	js.stop, js.stopMsg, js.exitMsg = stopNone, "", ""
	js.lastHeard = nil
	js.alloc = &model.Allocation{Job: js.job, Started: model.TimeOf(now), Replicas: st.Replicas}
	for i, p := range st.Replicas {
		s.assign(js, p, i, i, now, c)
	}
	s.running[js.doc.ID] = js
	s.requeue(js)
	s.unclaim(js.doc.ID)
	msg := fmt.Sprintf("attempt %d on %s%s", js.doc.Attempt, placements(st.Replicas), s.sitesIn(st.Replicas))
	if w := s.loopbackMaster(js); w != "" {
		msg += "; " + w
		s.log.Warn("a gang across nodes has a loopback MASTER_ADDR: its ranks on other nodes cannot reach rank 0",
			"job", js.doc.ID, "node", js.doc.Replicas[0].Node)
	}
	c.job(js, api.EventStarted, msg)
	s.metrics.placements.Add(float64(len(st.Replicas)))
}

// assign adds placement p to js's attempt as replica idx of rank rank.
func (s *Server) assign(js *jobState, p model.Placement, idx, rank int, now time.Time, c *changes) {
	js.doc.Replicas = append(js.doc.Replicas, api.Replica{Index: idx, Rank: rank, Node: p.Node, GPUs: p.GPUs, PowerCapW: p.PowerCapW,
		State: api.ReplicaAssigned, AssignedAt: ptrTime(now.UTC())})
	s.ranOn(js, p.Node)
	if n := s.nodes[p.Node]; n != nil {
		n.jobs[js.doc.ID] = true
		for _, g := range p.GPUs {
			if g < len(n.gpus) {
				n.gpus[g] = model.GPUState{}
			}
		}
	}
	c.bump(p.Node)
}

// dropReplaced drops from a running deployment's record rs the replaced
// (released) replicas before the last api.MaxReplacedReplicas, so that
// a deployment whose replicas end again and again for months keeps a
// bounded record. Their GPU time is in the job's usage already; the
// rest keep their positions' order. It returns rs, changed in place.
func dropReplaced(rs []api.Replica) []api.Replica {
	n := 0
	for i := range rs {
		if rs[i].Released {
			n++
		}
	}
	drop := n - api.MaxReplacedReplicas
	if drop <= 0 {
		return rs
	}
	return slices.DeleteFunc(rs, func(r api.Replica) bool {
		if r.Released && drop > 0 {
			drop--
			return true
		}
		return false
	})
}

// runsOn sets running deployment js's message to where its live
// replicas are, as they change: the placement it started with is not
// where it runs once replicas were replaced or added.
func runsOn(js *jobState) {
	var at []model.Placement
	for _, r := range js.doc.Replicas {
		if live(&r) {
			at = append(at, model.Placement{Node: r.Node, GPUs: r.GPUs})
		}
	}
	if len(at) > 0 {
		js.doc.Message = where(js, "running", at)
	}
}

// where says where js's replicas at run ("started on n1:[0 1]"), and,
// for a deployment that runs fewer replicas than it asks for, how many,
// first, so that a table's cut message still shows it, and why the
// others do not run: they wait for room, or back off after crashes
// (their GPUs held for them until the first back-off ends).
func where(js *jobState, verb string, at []model.Placement) string {
	if js.job.Kind != model.KindDeployment || len(at) >= js.job.Replicas {
		return verb + " on " + placements(at)
	}
	backing, until := 0, time.Time{}
	for _, r := range js.doc.Replicas {
		if r.ReplaceAt != nil && !r.Released && !live(&r) {
			backing++
			if until.IsZero() || r.ReplaceAt.Before(until) {
				until = *r.ReplaceAt
			}
		}
	}
	why := "the others wait for room"
	if backing > 0 {
		why = fmt.Sprintf("%d backing off after crashes until %s", backing, until.UTC().Format(time.RFC3339))
		if rest := js.job.Replicas - len(at) - backing; rest > 0 {
			why += fmt.Sprintf("; %d waiting for room", rest)
		}
	}
	return fmt.Sprintf("%s %d of %d replicas on %s; %s", verb, len(at), js.job.Replicas, placements(at), why)
}

// stopAttempt asks the agents to stop every live replica of js's
// attempt: SIGTERM, then SIGKILL after grace. The allocation holds its
// resources until they all report an end.
func (s *Server) stopAttempt(js *jobState, why, msg string, grace time.Duration, now time.Time, c *changes) {
	stopping := js.stop != stopNone
	// A cancel wins over any other reason to stop; the first reason
	// otherwise stays. A later stop may shorten the grace, never extend it.
	if !stopping || why == stopCancel {
		js.stop, js.stopMsg = why, msg
	}
	// A deployment being stopped replaces none of its replicas: the
	// back-offs end with the attempt (their GPUs stay its until then).
	for i := range js.doc.Replicas {
		js.doc.Replicas[i].ReplaceAt = nil
	}
	js.releaseAt = nil
	delete(s.backingOff, js.doc.ID)
	c.job(js, "", "")
	if stopping && js.grace <= grace {
		return
	}
	js.grace = grace
	js.alloc.Terminating = true
	js.alloc.EvictAt = model.TimeOf(now.Add(grace))
	js.doc.StopBy = ptrTime(now.Add(grace).UTC())
	for _, r := range js.doc.Replicas {
		if live(&r) {
			c.bump(r.Node)
		}
	}
	c.job(js, "", "")
}

// replicaEnded reacts to replica i's end: the rest of a failed gang is
// stopped; once no replica is live the attempt ends.
func (s *Server) replicaEnded(js *jobState, i int, now time.Time, c *changes) {
	r := &js.doc.Replicas[i]
	c.job(js, api.EventReplica, fmt.Sprintf("replica %d on %s %s", r.Index, r.Node, replicaEnd(r)))
	failed := endedFailed(r)
	deployment := js.job.Kind == model.KindDeployment
	if deployment && js.stop == stopNone && r.StopBy != nil && !r.Released {
		// taken by a partial preemption: not a crash; its GPUs go to
		// the job it made room for
		s.partEnded(js, i, now, c)
		if slices.ContainsFunc(js.doc.Replicas, func(r api.Replica) bool { return live(&r) }) {
			return
		}
		s.attemptEnded(js, now, c)
		return
	}
	if failed && js.exitMsg == "" && !(deployment && js.stop == stopNone) {
		js.exitMsg = fmt.Sprintf("replica %d %s", r.Index, replicaEnd(r))
		js.exitCode = exitCodeOf(r)
	}
	for j := range js.doc.Replicas {
		if !live(&js.doc.Replicas[j]) {
			continue
		}
		switch {
		case deployment && js.stop == stopNone && atRuntimeLimit(r):
			// The deployment's time is up, not the replica's: a
			// replacement would get the same deadline, already past.
			s.stopAttempt(js, stopFinished, "runtime limit reached", s.cfg.KillTimeout, now, c)
		case deployment && js.stop == stopNone:
			// A deployment's replicas are independent: the ended one
			// frees its place, and the core starts another (backoff.go).
			s.endedReplica(js, i, now, c)
		case failed && js.stop == stopNone:
			s.stopAttempt(js, stopFailure, js.exitMsg, s.cfg.KillTimeout, now, c)
			// the job still shows running: its message says it ends
			js.doc.Message = fmt.Sprintf("%s; stopping the others (grace until %s)", js.exitMsg, js.doc.StopBy.UTC().Format(time.RFC3339))
		}
		return
	}
	if deployment && js.stop == stopNone {
		s.countCrash(js, r, now) // a restart waits after crashes in a row
	}
	if deployment && js.exitMsg == "" {
		// The deployment ends with its last replica: it failed if that
		// one did, or one backing off after a crash (released replicas
		// were replaced: they are its history, not its outcome).
		k := i
		if !failed {
			k = slices.IndexFunc(js.doc.Replicas, func(r api.Replica) bool { return !r.Released && endedFailed(&r) })
		}
		if k >= 0 {
			rk := &js.doc.Replicas[k]
			js.exitMsg, js.exitCode = fmt.Sprintf("replica %d %s", rk.Index, replicaEnd(rk)), exitCodeOf(rk)
		}
	}
	s.attemptEnded(js, now, c)
}

// atRuntimeLimit reports whether replica r was stopped by its agent at
// its job's runtime limit.
func atRuntimeLimit(r *api.Replica) bool { return r.Signal == "runtime-limit" }

// endedFailed reports whether ended replica r failed: it did not exit
// with code 0.
func endedFailed(r *api.Replica) bool {
	return r.State != api.ReplicaExited || r.ExitCode == nil || *r.ExitCode != 0
}

// release takes ended replica i of a running deployment out of its
// allocation (a new slice: the core keeps the old one).
func (s *Server) release(js *jobState, i int, now time.Time, c *changes) {
	r := &js.doc.Replicas[i]
	a := js.alloc
	reps := make([]model.Placement, 0, len(a.Replicas))
	dropped := false
	for _, p := range a.Replicas {
		if !dropped && p.On(r.Node, r.GPUs) {
			dropped = true
			continue
		}
		reps = append(reps, p)
	}
	a.Replicas = reps
	if gs := replicaSeconds(js, r, now) * float64(len(r.GPUs)); gs > 0 {
		js.doc.Usage.GPUSeconds += gs
		s.charge(js.job.Tenant, gs, model.TimeOf(now))
	}
	r.Released, r.ReplaceAt = true, nil
	if js.stop == stopNone {
		runsOn(js) // a replica backing off no longer does
	}
	// Its end is recorded: what memory kept of it answers nothing more.
	delete(js.lastHeard, r.Index)
	c.job(js, "", "")
	if n := s.nodes[r.Node]; n != nil && !js.holdsOn(r.Node) { // its leaving part too
		delete(n.jobs, js.doc.ID)
	}
	c.bump(r.Node)
	c.kick = true
	s.requeue(js)
}

// gpuSeconds is the GPU time the attempt's replicas held, each from its
// assignment (or the attempt's start, in older records) to now: a
// replica's GPUs are the job's until the attempt ends, however early
// the replica did; a deployment's released replicas were counted when
// released (a deployment frees a replica's GPUs on its own).
func (s *Server) gpuSeconds(js *jobState, now time.Time) float64 {
	total := 0.0
	for i := range js.doc.Replicas {
		r := &js.doc.Replicas[i]
		if r.Released {
			continue
		}
		total += replicaSeconds(js, r, now) * float64(len(r.GPUs))
	}
	return total
}

// replicaSeconds is how long replica r has held its GPUs by now, when
// they are freed or counted: from its assignment (or the attempt's
// start, in older records) to now, not to its end, which may come
// before its GPUs are freed (a gang frees them all at its end, a
// deployment's crashing replica after its back-off).
func replicaSeconds(js *jobState, r *api.Replica, now time.Time) float64 {
	start := js.doc.StartTime
	if r.AssignedAt != nil {
		start = r.AssignedAt
	}
	if start == nil || !now.After(*start) {
		return 0
	}
	return now.Sub(*start).Seconds()
}

func replicaEnd(r *api.Replica) string {
	switch {
	case r.State == api.ReplicaLost:
		return "lost: " + r.Error
	case r.State == api.ReplicaFailed:
		return "failed to start: " + r.Error
	case atRuntimeLimit(r):
		return "stopped at its runtime limit"
	case r.Signal != "":
		return "ended by a signal (" + r.Signal + ")"
	case r.ExitCode != nil:
		return fmt.Sprintf("exited with code %d", *r.ExitCode)
	}
	return "ended"
}

// attemptEnded releases the attempt's resources and moves the job on:
// back to the queue (preempted, or retried by its restart policy) or to
// a final state.
func (s *Server) attemptEnded(js *jobState, now time.Time, c *changes) {
	s.partGone(js, c)
	a := js.alloc
	for _, p := range a.Replicas {
		if n := s.nodes[p.Node]; n != nil {
			delete(n.jobs, js.doc.ID)
			if a.PreemptedFor != "" { // also when cancelled while it was being preempted
				s.claim(n, p.GPUs, a.PreemptedFor, c)
			}
		}
		c.bump(p.Node)
	}
	if gs := s.gpuSeconds(js, now); gs > 0 {
		js.doc.Usage.GPUSeconds += gs
		s.charge(js.job.Tenant, gs, model.TimeOf(now))
	}
	js.alloc = nil
	js.doc.PreemptedFor, js.doc.StopBy = "", nil
	crashes := js.doc.Crashes
	js.limitSeen, js.releaseAt, js.doc.Crashes, js.awaitNode = nil, nil, 0, nil
	delete(s.backingOff, js.doc.ID)
	js.unhold()
	delete(s.running, js.doc.ID)
	delete(s.waiting, js.doc.ID)
	s.freed = true
	defer func() {
		s.waitForSilent(js, c) // a deployment queued again (lost_rank.go)
		s.requeue(js)
	}()
	code := 0
	for _, r := range js.doc.Replicas {
		if r.Released {
			continue // a deployment's replaced replica: not how the attempt ended
		}
		if r.ExitCode != nil && *r.ExitCode != 0 && code == 0 {
			code = *r.ExitCode
		}
		if r.State == api.ReplicaFailed || r.State == api.ReplicaLost {
			if code == 0 {
				code = -1
			}
		}
	}
	if js.exitMsg != "" {
		code = js.exitCode // the replica that failed the attempt, not those stopped after it
	}
	js.doc.ExitCode = ptrInt(code)
	stop, runtimeLimit := js.stop, false
	for _, r := range js.doc.Replicas {
		runtimeLimit = runtimeLimit || atRuntimeLimit(&r)
	}
	js.stop, js.grace, js.exitCode = stopNone, 0, 0
	c.kick = true
	switch {
	case stop == stopCancel:
		s.finish(js, api.StateCancelled, js.stopMsg, now, c)
	case stop == stopPreempt:
		js.doc.State = api.StatePending
		js.doc.Message = js.stopMsg + "; back in the queue"
		c.job(js, api.EventEvicted, js.doc.Message)
	case runtimeLimit:
		s.finish(js, api.StateFailed, "runtime limit reached", now, c)
	case js.exitMsg != "" && s.avoidsEveryNode(js):
		s.finish(js, api.StateFailed, js.exitMsg+"; its failed starts left every node that could run it in its avoid_nodes: no retry could start", now, c)
	case js.exitMsg != "":
		if js.job.Restart.OnFailure && js.doc.Restarts < js.job.Restart.MaxRetries {
			js.doc.Restarts++
			js.doc.State = api.StatePending
			js.doc.Message = fmt.Sprintf("%s; restart %d of %d", js.exitMsg, js.doc.Restarts, js.job.Restart.MaxRetries)
			if js.job.Kind == model.KindDeployment {
				js.doc.Crashes = crashes // the row goes on in the next attempt
			}
			if d := restartDelay(js); d > 0 {
				s.holdRestart(js, now.Add(d))
				js.doc.Message += fmt.Sprintf(", in %s: %d replica(s) in a row ended within %s of their start", d, js.doc.Crashes, crashWindow)
			}
			c.job(js, api.EventRestart, js.doc.Message)
			return
		}
		s.finish(js, api.StateFailed, js.exitMsg, now, c)
	default:
		s.finish(js, api.StateSucceeded, "every replica exited with code 0", now, c)
	}
}

// finish puts js in a final state. The nodes it ran on no longer list it
// as unfinished: their agents' limits apply to its data from now.
func (s *Server) finish(js *jobState, state, msg string, now time.Time, c *changes) {
	js.doc.State, js.doc.Message, js.doc.EndTime, js.doc.Reason = state, msg, ptrTime(now.UTC()), nil
	s.requeue(js)
	if msg != state { // not "cancelled: cancelled"
		msg = state + ": " + msg
	}
	c.job(js, api.EventFinished, msg)
	s.unclaim(js.doc.ID)
	delete(s.avoid, js.doc.ID)
	for node := range js.ranOn {
		if n := s.nodes[node]; n != nil {
			delete(n.unfinished, js.doc.ID)
		}
		c.bump(node)
	}
	js.ranOn = nil
	s.depEnded(js, now, c)
}

// ranOn records that js has had a replica on node: until js finishes,
// the node's assignments list it as unfinished, and its agent keeps the
// data of the job's ended replicas there.
func (s *Server) ranOn(js *jobState, node string) {
	n := s.nodes[node]
	if n == nil || api.Final(js.doc.State) {
		return
	}
	if js.ranOn == nil {
		js.ranOn = map[string]bool{}
	}
	js.ranOn[node] = true
	n.unfinished[js.doc.ID] = true
}

// claim reserves a preempted victim's GPUs for the job it was preempted
// for, as the core expects (model.GPUState.ClaimedBy), and records them
// with that job (api.Job.Claimed), so that a restart keeps them
// (restoreClaims).
func (s *Server) claim(n *nodeState, gpus []int, beneficiary string, c *changes) {
	b := s.jobs[beneficiary]
	if b == nil || !b.pending() {
		return
	}
	s.holdFor(n, gpus, beneficiary)
	i := slices.IndexFunc(b.doc.Claimed, func(cl api.Claim) bool { return cl.Node == n.doc.Name })
	if i < 0 {
		b.doc.Claimed = append(b.doc.Claimed, api.Claim{Node: n.doc.Name})
		i = len(b.doc.Claimed) - 1
	}
	cl := &b.doc.Claimed[i]
	cl.GPUs = slices.Clone(cl.GPUs)
	for _, g := range gpus {
		if !slices.Contains(cl.GPUs, g) {
			cl.GPUs = append(cl.GPUs, g)
		}
	}
	slices.Sort(cl.GPUs)
	c.job(b, "", "")
}

// holdFor marks gpus of n claimed for job. Caller holds mu.
func (s *Server) holdFor(n *nodeState, gpus []int, job string) {
	for _, g := range gpus {
		if g < len(n.gpus) {
			n.gpus[g] = model.GPUState{ClaimedBy: job}
		}
	}
	if !slices.Contains(s.claims[job], n) {
		s.claims[job] = append(s.claims[job], n)
	}
}

// restoreClaims gives the reloaded pending jobs the GPUs claimed for
// them before the restart, those still free: a job a victim left for
// keeps their room until it starts. Caller has the server to itself,
// after the jobs' allocations are restored.
func (s *Server) restoreClaims() {
	used := map[string]map[int]bool{} // node → GPUs a restored allocation holds
	hold := func(ps []model.Placement) {
		for _, p := range ps {
			if used[p.Node] == nil {
				used[p.Node] = map[int]bool{}
			}
			for _, g := range p.GPUs {
				used[p.Node][g] = true
			}
		}
	}
	for _, js := range s.running {
		hold(js.alloc.Replicas)
		if js.part != nil {
			hold(js.part.Replicas)
		}
	}
	for _, id := range sortedKeys(s.jobs) {
		js := s.jobs[id]
		if !js.pending() {
			js.doc.Claimed = nil
			continue
		}
		for _, cl := range js.doc.Claimed {
			n := s.nodes[cl.Node]
			if n == nil {
				continue
			}
			free := slices.DeleteFunc(slices.Clone(cl.GPUs), func(g int) bool { return used[cl.Node][g] })
			s.holdFor(n, free, id)
		}
	}
}

// unclaim drops the claims held for job.
func (s *Server) unclaim(job string) {
	if js := s.jobs[job]; js != nil {
		js.doc.Claimed = nil // written with the start or the end that drops them
	}
	nodes, ok := s.claims[job]
	if !ok {
		return // the common case, on every start: nothing to scan
	}
	delete(s.claims, job)
	for _, n := range nodes {
		for g := range n.gpus {
			if n.gpus[g].ClaimedBy == job {
				n.gpus[g] = model.GPUState{}
			}
		}
	}
}

// charge adds GPU-seconds to a tenant's fair-share history.
func (s *Server) charge(tenant string, gpuSeconds float64, now model.Time) {
	u := s.usage[tenant]
	if u == nil {
		u = &model.Usage{Tenant: tenant, AsOf: now}
		s.usage[tenant] = u
	}
	u.GPUSeconds = u.At(now, s.fac.Policy.FairShareHalfLife) + gpuSeconds
	u.AsOf = now
	s.usageDirty = true
}

func placements(rs []model.Placement) string {
	out := ""
	for i, r := range rs {
		if i > 0 {
			out += " "
		}
		if len(r.GPUs) == 0 {
			out += r.Node + " (no GPU)"
		} else {
			out += fmt.Sprintf("%s:%v", r.Node, r.GPUs)
		}
	}
	return out
}

// sitesIn names the sites of placements rs with their jurisdiction tags,
// "; in site fr [EU FR]" (or "; in sites …, …"; "" for none): a start's
// event says where the work runs in terms its tenant can check against
// its jurisdictions from its own audit entries, without the node-to-site
// mapping, which is the operators'. Caller holds mu.
func (s *Server) sitesIn(rs []model.Placement) string {
	var names []string
	tags := map[string][]string{}
	for _, r := range rs {
		n := s.nodes[r.Node]
		if n == nil || n.siteIdx < 0 || n.siteIdx >= len(s.fac.Sites) {
			continue
		}
		st := &s.fac.Sites[n.siteIdx]
		if _, ok := tags[st.ID]; !ok {
			names = append(names, st.ID)
			tags[st.ID] = st.Jurisdictions
		}
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, id := range names {
		parts[i] = fmt.Sprintf("%s %v", id, tags[id])
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return "; in site " + parts[0]
	}
	return "; in sites " + strings.Join(parts, ", ")
}

// exitCodeOf is an ended replica's exit code; -1 when it has none (it
// could not start, or was lost with its node).
func exitCodeOf(r *api.Replica) int {
	if r.ExitCode != nil && r.State == api.ReplicaExited {
		return *r.ExitCode
	}
	if r.ExitCode != nil && *r.ExitCode != 0 {
		return *r.ExitCode
	}
	return -1
}
