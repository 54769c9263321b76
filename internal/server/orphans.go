package server

import (
	"fmt"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A tenant removed from the facility file leaves jobs the server can no
// longer run: the core holds a job of a tenant it does not know as
// invalid, and would hold it so for ever. At a start, the server ends
// each pending job of such a tenant (cancelled, with an event of actor
// server:config naming the tenant, so its audit entries say why) and
// lets each running one run on to its end, with an event saying its
// tenant is gone: a facility file edited too early must not kill hours
// of training, and an operator may cancel that work at any time. A
// running job of a gone tenant that would be queued again (preempted,
// retried by its restart policy) is cancelled instead (endQueuedOrphans).
// See docs/operations.md, "Changing the facility file".

// actorConfig is the actor of the events the facility file's changes
// cause at a start.
const actorConfig = "server:config"

// tenantGone reports whether js's tenant is no longer in the facility.
// Caller holds mu.
func (s *Server) tenantGone(js *jobState) bool { return s.fac.Tenant(js.job.Tenant) == nil }

// orphans, at reload, ends the pending jobs of tenants no longer in the
// facility, records an event on each running one, and logs a warning per
// tenant with its counts. Caller has the server to itself.
func (s *Server) orphans(now time.Time, c *changes) {
	type count struct{ pending, running int }
	gone := map[string]*count{}
	for _, id := range sortedKeys(s.jobs) {
		js := s.jobs[id]
		if !s.tenantGone(js) {
			continue
		}
		k := gone[js.job.Tenant]
		if k == nil {
			k = &count{}
			gone[js.job.Tenant] = k
		}
		if s.endOrphan(js, now, c) {
			k.pending++
			continue
		}
		k.running++
		c.job(js, "", "")
		c.events = append(c.events, api.Event{Job: id, Tenant: js.doc.Tenant, Type: api.EventFacility, Actor: actorConfig,
			Message: fmt.Sprintf("its tenant %q is no longer in the facility: it runs on until it ends or is cancelled, and is not queued again", js.job.Tenant)})
	}
	for _, t := range sortedKeys(gone) {
		s.log.Warn("a tenant no longer in the facility has unfinished jobs: its pending jobs are cancelled; its running jobs run on until they end, and are not queued again",
			"tenant", t, "pending_cancelled", gone[t].pending, "running", gone[t].running)
	}
}

// endOrphan cancels js if it is pending (not holding resources) and its
// tenant is no longer in the facility, and reports whether it did.
// Caller holds mu.
func (s *Server) endOrphan(js *jobState, now time.Time, c *changes) bool {
	if js.alloc != nil || js.doc.State != api.StatePending || !s.tenantGone(js) {
		return false
	}
	s.finish(js, api.StateCancelled, fmt.Sprintf("its tenant %q is no longer in the facility", js.job.Tenant), now, c)
	c.events[len(c.events)-1].Actor = actorConfig
	return true
}

// endQueuedOrphans cancels the jobs about to enter the queue whose tenant
// is no longer in the facility: a running job of a removed tenant that
// was preempted or is to be retried. Caller holds mu.
func (s *Server) endQueuedOrphans(now time.Time, c *changes) {
	for _, op := range s.queueOps {
		if op.add == nil {
			continue
		}
		if js := s.jobs[op.add.ID]; js != nil && js.job == op.add {
			s.endOrphan(js, now, c)
		}
	}
}
