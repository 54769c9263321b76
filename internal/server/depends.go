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

// Dependencies (model.Job.DependsOn, Slurm's afterok): a pending job
// whose dependencies have not all succeeded is held, out of the loop's
// queue, with the reason code ReasonDependency; it is queued once the
// last of them succeeds, and cancelled when one ends otherwise (failed,
// cancelled), in the same commit as that end. So a pending job never
// depends on a job that did not succeed, and a dependency no longer in
// memory (it finished and was forgotten, or was found so at a restart)
// has succeeded.
//
// A submission checks its dependencies (same tenant, jobs not
// deployments, none ended otherwise than succeeded) before it is saved,
// and is adopted after: a dependency that ends in between is kept in
// depOutcome while such a check holds it (depChecking), so that the
// adoption sees how it ended.

// ReasonDependency is the reason code of a job held for its dependencies.
const ReasonDependency = string(model.ReasonDependency)

// checkDeps checks job's dependencies at its submission and holds the
// ones it found unfinished until release is called (after adopt). It
// returns a problem for a dependency that is not a job of job's tenant,
// is a deployment, or ended otherwise than succeeded.
func (s *Server) checkDeps(ctx context.Context, job *model.Job) (release func(), prob *api.Problem) {
	if len(job.DependsOn) == 0 {
		return func() {}, nil
	}
	field := func(status int, format string, args ...any) *api.Problem {
		return &api.Problem{Status: status, Detail: "invalid depends_on",
			Errors: []api.FieldError{{Field: "depends_on", Message: fmt.Sprintf(format, args...)}}}
	}
	judge := func(id, tenant, kind, state string) *api.Problem {
		switch {
		case tenant != job.Tenant:
			return field(http.StatusBadRequest, "no job %q of tenant %s", id, job.Tenant)
		case kind == string(model.KindDeployment):
			return field(http.StatusBadRequest, "%q is a deployment: it runs until cancelled and never succeeds; depend on jobs", id)
		case api.Final(state) && state != api.StateSucceeded:
			return field(http.StatusConflict, "job %q %s: this job would never start", id, state)
		}
		return nil
	}
	var absent []string
	s.mu.Lock()
	for _, id := range job.DependsOn {
		js := s.jobs[id]
		if js == nil {
			absent = append(absent, id)
			continue
		}
		if p := judge(id, js.doc.Tenant, js.doc.Kind, js.doc.State); p != nil {
			s.mu.Unlock()
			return nil, p
		}
	}
	for _, id := range job.DependsOn {
		s.depChecking[id]++
	}
	s.mu.Unlock()
	release = func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, id := range job.DependsOn {
			if s.depChecking[id]--; s.depChecking[id] <= 0 {
				delete(s.depChecking, id)
				delete(s.depOutcome, id)
			}
		}
	}
	for _, id := range absent {
		doc, err := s.store.Job(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			prob = field(http.StatusBadRequest, "no job %q of tenant %s", id, job.Tenant)
		case err != nil:
			prob = &api.Problem{Status: http.StatusServiceUnavailable, Detail: fmt.Sprintf("reading job %s: %v", id, err)}
		default:
			prob = judge(id, doc.Tenant, doc.Kind, doc.State)
		}
		if prob != nil {
			release()
			return nil, prob
		}
	}
	return release, nil
}

// trackDeps holds js, a pending job with dependencies, until they have
// succeeded: it lists js as waiting on each unfinished one and says
// which it waits for. A dependency that ended otherwise (seen by a
// submission's check, depOutcome) puts js on depBroken, which the loop
// cancels. Caller holds mu.
func (s *Server) trackDeps(js *jobState, now time.Time) {
	if js.doc.State != api.StatePending || len(js.job.DependsOn) == 0 {
		return
	}
	for _, id := range js.job.DependsOn {
		if st, ok := s.depOutcome[id]; ok && st != api.StateSucceeded {
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
// while it does. Caller holds mu.
func (s *Server) holdForDeps(js *jobState, now time.Time) {
	msg := s.depWait(js)
	was := js.held
	js.held = msg != ""
	if js.held {
		js.doc.Reason = &api.Reason{Code: ReasonDependency, Message: msg, Pass: now.UTC()}
		js.doc.Message = msg
	} else if was {
		js.doc.Reason, js.doc.Message = nil, "waiting for the next scheduling pass"
	}
	s.requeue(js)
}

// depWait says which of js's dependencies it waits for, as they are now
// ("" when none). Caller holds mu.
func (s *Server) depWait(js *jobState) string {
	var waits []string
	for _, id := range js.job.DependsOn {
		if d := s.jobs[id]; d != nil && d.doc.State != api.StateSucceeded {
			waits = append(waits, fmt.Sprintf("%s (%s)", id, d.doc.State))
		}
	}
	if len(waits) == 0 {
		return ""
	}
	return "dependency: waits for " + strings.Join(waits, ", ") + " to succeed"
}

// depEnded, as dep reaches its final state, queues the jobs that waited
// for it alone and cancels those that waited for it when it did not
// succeed (and theirs, in turn). Caller holds mu.
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
		if state != api.StateSucceeded {
			s.finish(js, api.StateCancelled, fmt.Sprintf("dependency %s %s", id, state), now, c)
			continue
		}
		s.holdForDeps(js, now)
	}
}

// depBreak is a held job to cancel: its dependency dep ended in state
// before the job was adopted.
type depBreak struct{ job, dep, state string }

// cancelBrokenDeps cancels the jobs depBroken lists. Caller holds mu.
func (s *Server) cancelBrokenDeps(now time.Time, c *changes) {
	for _, b := range s.depBroken {
		if js := s.jobs[b.job]; js != nil && js.doc.State == api.StatePending {
			s.finish(js, api.StateCancelled, fmt.Sprintf("dependency %s %s", b.dep, b.state), now, c)
		}
	}
	s.depBroken = s.depBroken[:0]
}
