package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
)

// Dependencies (model.Job.DependsOn, Slurm's afterok, afterany and
// afternotok): a pending job whose dependencies have not all ended as
// their types ask (model.DepType.Met) is held, out of the loop's queue,
// with the reason code ReasonDependency; it is queued once the last of
// them is met, and cancelled when one ends otherwise (an afterok one
// failed or was cancelled, an afternotok one succeeded), in the same
// commit as that end, when it is in memory then.
//
// A job is not always in memory when its dependency ends: a submission
// checks its dependencies (same tenant, no afterok on a deployment, none
// ended otherwise than its type asks) before it is saved, and is adopted
// after; a submission whose answer was lost is adopted only at its
// retry; and the commit that cancels a job adopted after its dependency
// ended against it (depBroken) may never come, the server stopping
// first. So every adoption holds the dependencies (holdDeps:
// depChecking, a dependency that ends in between kept in depOutcome)
// and reads those no longer in memory from the store, as a reload does
// (trackLoadedDeps): a dependency forgotten is not taken for succeeded
// (nor, for afternotok, for failed). One the store holds
// pending, saved but not adopted (its answer lost), is adopted then
// (adoptStored), so that the job waits for it to run.

// actorDepends is the actor of the events of jobs cancelled because a
// dependency did not end as its type asks: the control plane's rule, whoever ended
// the dependency (its own event keeps that actor).
const actorDepends = "server:depends_on"

// checkDeps checks job's dependencies at its submission and holds them
// (holdDeps) until release is called (after adopt). It returns a problem
// for a dependency that is not a job of job's tenant, a deployment
// depended on with afterok (it runs until stopped, which cancels it:
// afterany waits for its end, afternotok too), or one that ended
// otherwise than its type asks.
func (s *Server) checkDeps(ctx context.Context, job *model.Job) (release func(), prob *api.Problem) {
	if len(job.DependsOn) == 0 {
		return func() {}, nil
	}
	field := func(status int, format string, args ...any) *api.Problem {
		return &api.Problem{Status: status, Detail: "invalid depends_on",
			Errors: []api.FieldError{{Field: "depends_on", Message: fmt.Sprintf(format, args...)}}}
	}
	release, deps, err := s.holdDeps(ctx, depIDs(job.DependsOn))
	if err != nil {
		return nil, &api.Problem{Status: http.StatusServiceUnavailable, Detail: err.Error()}
	}
	for _, dep := range job.DependsOn {
		id := dep.Job
		d, ok := deps[id]
		switch {
		case !ok || d.tenant != job.Tenant:
			prob = field(http.StatusBadRequest, "no job %q of tenant %s", id, job.Tenant)
		case d.kind == string(model.KindDeployment) && dep.Type == model.AfterOK:
			prob = field(http.StatusBadRequest, "%q is a deployment: it runs until stopped, which ends it cancelled, not succeeded, so afterok would not be met; "+
				"to start once it ends, write \"afterany:%s\"", id, id)
		case api.Final(d.state) && !dep.Type.Met(d.state == api.StateSucceeded):
			prob = field(http.StatusConflict, "job %q %s: this job would never start%s", id, d.state, notOK(dep))
		}
		if prob != nil {
			release()
			return nil, prob
		}
	}
	return release, nil
}

// depInfo is what a submission's check needs of a dependency.
type depInfo struct{ tenant, kind, state string }

// depIDs are the jobs deps names.
func depIDs(deps []model.Dependency) []string {
	ids := make([]string, len(deps))
	for i, d := range deps {
		ids[i] = d.Job
	}
	return ids
}

// depOn is js's dependency on job id.
func depOn(js *jobState, id string) model.Dependency {
	for _, d := range js.job.DependsOn {
		if d.Job == id {
			return d
		}
	}
	return model.Dependency{Job: id}
}

// notOK is what a message about dep adds for an afternotok one, which
// only a failure or a cancellation meets.
func notOK(dep model.Dependency) string {
	if dep.Type != model.AfterNotOK {
		return ""
	}
	return " (afternotok: it runs only if " + dep.Job + " fails or is cancelled)"
}

// holdDeps holds the jobs ids (depChecking) until release is called, so
// that the adoption of a job depending on them sees how one that ends
// meanwhile ended (depOutcome), and reads those not in memory from the
// store, all of them in one read (store.JobStates): finished (or never
// adopted), a dependency no longer in memory may have ended either way,
// and depOutcome keeps how such a one ended too. One the store holds
// pending (never adopted) is read whole and adopted (adoptStored). It
// returns the jobs it found, in memory or in the store, by ID.
func (s *Server) holdDeps(ctx context.Context, ids []string) (release func(), deps map[string]depInfo, err error) {
	deps = map[string]depInfo{}
	var absent []string
	s.mu.Lock()
	for _, id := range ids {
		s.depChecking[id]++
		if js := s.jobs[id]; js != nil {
			deps[id] = depInfo{js.doc.Tenant, js.doc.Kind, js.doc.State}
		} else {
			absent = append(absent, id)
		}
	}
	s.mu.Unlock()
	release = func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, id := range ids {
			if s.depChecking[id]--; s.depChecking[id] <= 0 {
				delete(s.depChecking, id)
				delete(s.depOutcome, id)
			}
		}
	}
	ended := map[string]string{}
	states := map[string]store.JobState{}
	if len(absent) > 0 {
		if states, err = s.store.JobStates(ctx, absent); err != nil {
			release()
			return nil, nil, fmt.Errorf("reading the %d dependencies no longer in memory: %w", len(absent), err)
		}
	}
	for _, id := range absent {
		st, ok := states[id]
		if !ok {
			continue
		}
		deps[id] = depInfo{st.Tenant, st.Kind, st.State}
		if api.Final(st.State) {
			ended[id] = st.State
		}
		if st.State == api.StatePending { // saved, its submission's answer lost: not run yet
			if err := s.adoptPending(ctx, id); err != nil {
				release()
				return nil, nil, err
			}
		}
	}
	s.mu.Lock()
	for id, st := range ended {
		if _, ok := s.depOutcome[id]; !ok {
			s.depOutcome[id] = st
		}
	}
	s.mu.Unlock()
	return release, deps, nil
}

// trackDeps holds js, a pending job with dependencies, until they are
// met: it lists js as waiting on each unfinished one and says which it
// waits for. A dependency that ended otherwise than its type asks (seen
// by a submission's check, depOutcome, or still in memory) puts js on
// depBroken, which the loop cancels. Caller holds mu.
func (s *Server) trackDeps(js *jobState, now time.Time) {
	if js.doc.State != api.StatePending || len(js.job.DependsOn) == 0 {
		return
	}
	for _, dep := range js.job.DependsOn {
		id := dep.Job
		st, ended := s.depOutcome[id]
		if d := s.jobs[id]; !ended && d != nil && api.Final(d.doc.State) {
			st, ended = d.doc.State, true
		}
		if ended && !dep.Type.Met(st == api.StateSucceeded) {
			js.held = true
			s.depBroken = append(s.depBroken, depBreak{job: js.doc.ID, dep: id, state: st})
			return
		}
		if d := s.jobs[id]; d != nil && !api.Final(d.doc.State) && !slices.Contains(s.dependents[id], js.doc.ID) {
			s.dependents[id] = append(s.dependents[id], js.doc.ID)
		}
	}
	s.holdForDeps(js, now)
}

// holdForDeps sets whether js waits for dependencies, and its reason
// while it does. A job released joins the queue at now: the core orders
// it by that time as by a submission's (model.Job.SubmitTime, which
// nothing else of the core reads), as Slurm counts a job's age from when
// it became eligible, so that it does not get ahead of the jobs queued
// while it was held. Caller holds mu.
func (s *Server) holdForDeps(js *jobState, now time.Time) {
	msg := s.depWait(js)
	was := js.held
	js.held = msg != ""
	if js.held {
		js.doc.Reason = &api.Reason{Code: string(model.ReasonDependency), Message: msg, Pass: now.UTC()}
		js.doc.Message = msg
	} else if was {
		js.doc.Reason, js.doc.Message = nil, "waiting for the next scheduling pass"
		js.job.SubmitTime, js.job.SubmitOrder = model.TimeOf(now), int64(now.Nanosecond())
	}
	s.requeue(js)
}

// depWait says which of js's dependencies it waits for, as they are now
// ("" when none): those in memory not ended as their types ask. Caller
// holds mu.
func (s *Server) depWait(js *jobState) string {
	var waits []model.Dependency
	for _, dep := range js.job.DependsOn {
		if d := s.jobs[dep.Job]; d != nil && !(api.Final(d.doc.State) && dep.Type.Met(d.doc.State == api.StateSucceeded)) {
			waits = append(waits, dep)
		}
	}
	if len(waits) == 0 {
		return ""
	}
	return model.DependencyWait(waits, func(id string) string { return s.jobs[id].doc.State })
}

// depEnded, as dep reaches its final state, queues the jobs that waited
// for it last and cancels those it did not end for as their dependency's
// type asks (and theirs, in turn). Caller holds mu.
func (s *Server) depEnded(dep *jobState, now time.Time, c *changes) {
	id, state := dep.doc.ID, dep.doc.State
	if s.depChecking[id] > 0 {
		s.depOutcome[id] = state
	}
	waiting := s.dependents[id]
	delete(s.dependents, id)
	for _, w := range waiting {
		js := s.jobs[w]
		if js == nil || js.doc.State != api.StatePending || !js.held {
			continue
		}
		if !depOn(js, id).Type.Met(state == api.StateSucceeded) {
			s.cancelForDep(js, id, state, now, c)
			continue
		}
		if s.holdForDeps(js, now); !js.held {
			c.job(js, api.EventEligible, released(js.job.DependsOn))
			c.events[len(c.events)-1].Actor = actorDepends
		}
	}
}

// released is the message of the event of a job queued as its
// dependencies deps are met: "queued: its dependencies succeeded (prep,
// train)", "queued: its dependencies are met (prep, afterany:train)".
func released(deps []model.Dependency) string {
	what, how := "dependency", "succeeded"
	if len(deps) > 1 {
		what = "dependencies"
	}
	names := make([]string, len(deps))
	for i, d := range deps {
		names[i] = d.String()
		if d.Type != model.AfterOK {
			how = "are met"
			if len(deps) == 1 {
				how = "is met"
			}
		}
	}
	return fmt.Sprintf("queued: its %s %s (%s)", what, how, strings.Join(names, ", "))
}

// depBreak is a held job to cancel: its dependency dep ended in state
// before the job was adopted.
type depBreak struct{ job, dep, state string }

// cancelBrokenDeps cancels the jobs depBroken lists. Caller holds mu.
func (s *Server) cancelBrokenDeps(now time.Time, c *changes) {
	for _, b := range s.depBroken {
		if js := s.jobs[b.job]; js != nil && js.doc.State == api.StatePending {
			s.cancelForDep(js, b.dep, b.state, now, c)
		}
	}
	s.depBroken = s.depBroken[:0]
}

// cancelForDep cancels js, held, as its dependency dep ended in state,
// not as its type asks: an event of actor actorDepends (those of js's
// own dependents, which finish cancels or queues in turn, are recorded
// after it). Caller holds mu.
func (s *Server) cancelForDep(js *jobState, dep, state string, now time.Time, c *changes) {
	i := len(c.events)
	s.finish(js, api.StateCancelled, fmt.Sprintf("dependency %s %s%s", dep, state, notOK(depOn(js, dep))), now, c)
	c.events[i].Actor = actorDepends
}

// trackLoadedDeps, at a reload, holds the pending jobs loaded for their
// dependencies (trackDeps). A dependency not loaded is finished: how it
// ended is read from the store, all of them in one read (store.JobStates;
// one the store no longer holds counts as succeeded), and a job it did
// not end for as its type asks (the server stopped between its end and
// the commit that cancels the job, or the job was adopted meanwhile:
// depBroken) is cancelled at the first pass.
func (s *Server) trackLoadedDeps(ctx context.Context, now time.Time) error {
	seen := map[string]bool{}
	var absent []string
	for _, js := range s.jobs {
		if js.doc.State != api.StatePending {
			continue
		}
		for _, dep := range js.job.DependsOn {
			if s.jobs[dep.Job] == nil && !seen[dep.Job] {
				seen[dep.Job] = true
				absent = append(absent, dep.Job)
			}
		}
	}
	ended := map[string]time.Time{}
	if len(absent) > 0 {
		// one read for them all, however many jobs wait
		states, err := s.store.JobStates(ctx, absent)
		if err != nil {
			return fmt.Errorf("server: reading the %d dependencies of pending jobs no longer unfinished: %w", len(absent), err)
		}
		for _, id := range absent {
			st, ok := states[id]
			switch {
			case !ok: // Carnot deletes no job record; one removed by hand counts as succeeded
				s.depOutcome[id] = api.StateSucceeded
			case api.Final(st.State):
				s.depOutcome[id] = st.State
				if st.EndTime != nil {
					ended[id] = *st.EndTime
				}
			}
		}
	}
	for _, id := range sortedKeys(s.jobs) {
		js := s.jobs[id]
		submit, order := js.job.SubmitTime, js.job.SubmitOrder
		s.trackDeps(js, now)
		if js.held || js.doc.State != api.StatePending || len(js.job.DependsOn) == 0 {
			continue
		}
		// released before the reload: queued when its last dependency
		// ended (holdForDeps), as far as the store still says when
		js.job.SubmitTime, js.job.SubmitOrder = submit, order
		for _, dep := range js.job.DependsOn {
			t, ok := ended[dep.Job]
			if at, o := model.TimeOf(t), int64(t.Nanosecond()); ok && (at > js.job.SubmitTime || at == js.job.SubmitTime && o > js.job.SubmitOrder) {
				js.job.SubmitTime, js.job.SubmitOrder = at, o
			}
		}
	}
	clear(s.depOutcome)
	return nil
}

// adoptPending reads job id, pending in the store and not in memory,
// and adopts it (adoptStored). A job no longer pending (adopted and run
// meanwhile) or no longer there is left as it is.
func (s *Server) adoptPending(ctx context.Context, id string) error {
	doc, err := s.store.Job(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("reading job %s: %w", id, err)
	case doc.State != api.StatePending:
		return nil
	}
	return s.adoptStored(ctx, doc)
}

// adoptStored adopts a pending job the store holds and memory does not
// (its submission was saved but its answer lost), holding its own
// dependencies meanwhile (holdDeps).
func (s *Server) adoptStored(ctx context.Context, doc *api.Job) error {
	s.mu.Lock()
	_, in := s.jobs[doc.ID]
	s.mu.Unlock()
	if in {
		return nil
	}
	js, err := jobFromDoc(doc)
	if err != nil {
		return nil // left to the reload to report
	}
	release, _, err := s.holdDeps(ctx, depIDs(js.job.DependsOn))
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.adopt(js)
	s.mu.Unlock()
	release()
	s.Kick()
	return nil
}
