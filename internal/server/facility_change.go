package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
)

// A change of the facility file may leave jobs the server can no longer
// run: their tenant removed, their priority class removed or no longer
// allowed for their tenant, their data class removed. The core holds such
// a job as invalid, and would hold it so for ever. At a start, the server
// ends each pending one (cancelled, with an event of actor server:config
// saying what is gone, so its audit entries say why) and lets each
// running one run on to its end, with an event saying what is gone: a
// facility file edited too early must not kill hours of training, and an
// operator may cancel that work at any time. A running one that would be
// queued again (preempted, retried by its restart policy) is cancelled
// instead (endQueuedOrphans). See docs/operations.md, "Changing the
// facility file".

// actorConfig is the actor of the events the facility file's changes
// cause at a start.
const actorConfig = "server:config"

// unrunnable says what of the facility js needs is gone ("" when
// nothing): the references the core checks (sched validate) that only
// the facility file can change. Caller holds mu.
func (s *Server) unrunnable(js *jobState) string {
	j := js.job
	t := s.fac.Tenant(j.Tenant)
	switch {
	case t == nil:
		return fmt.Sprintf("its tenant %q is no longer in the facility", j.Tenant)
	case j.PriorityClass != "" && !slices.ContainsFunc(s.fac.PriorityClasses, func(c model.PriorityClass) bool { return c.Name == j.PriorityClass }):
		return fmt.Sprintf("its priority class %q is no longer in the facility", j.PriorityClass)
	case len(t.PriorityClasses) > 0 && !slices.Contains(t.PriorityClasses, j.PriorityClass):
		return fmt.Sprintf("its priority class %q is no longer allowed for tenant %s", j.PriorityClass, t.Name)
	}
	// A data class the facility does not define fails closed, also when
	// it defines none: the class says where the job's data may live, and
	// a facility without the class says nowhere, not anywhere.
	if _, ok := s.fac.DataClasses[j.DataClass]; j.DataClass != "" && !ok {
		if len(s.fac.DataClasses) == 0 {
			return fmt.Sprintf("its data class %q is no longer in the facility, which defines none", j.DataClass)
		}
		return fmt.Sprintf("its data class %q is no longer in the facility", j.DataClass)
	}
	return ""
}

// orphans, at reload, ends the pending jobs the facility can no longer
// run, returns an event for each such running one (recordFlags records
// it once), and logs a warning per cause with its counts. Caller has the
// server to itself.
func (s *Server) orphans(now time.Time, c *changes) []api.Event {
	var flags []api.Event
	type count struct{ pending, running int }
	gone := map[string]*count{}
	for _, id := range sortedKeys(s.jobs) {
		js := s.jobs[id]
		why := s.unrunnable(js)
		if why == "" || api.Final(js.doc.State) { // cancelled with a dependency
			continue
		}
		k := gone[why]
		if k == nil {
			k = &count{}
			gone[why] = k
		}
		if s.endOrphan(js, now, c) {
			k.pending++
			continue
		}
		k.running++
		// Not queued again, a deployment to replace its replicas either:
		// the core would place the replacement as the facility now says,
		// and one that defines no data class at all has the core take
		// the job's class as a label, allowing every site.
		js.orphaned = true
		s.requeue(js)
		then := "it runs on until it ends or is cancelled, and is not queued again"
		if js.stop != stopNone {
			then = "it is being stopped already, and is not queued again"
		}
		flags = append(flags, api.Event{Job: id, Tenant: js.doc.Tenant, Type: api.EventFacility, Actor: actorConfig,
			Message: why + ": " + then})
	}
	for _, why := range sortedKeys(gone) {
		s.log.Warn("unfinished jobs the facility can no longer run: the pending ones are cancelled; the running ones run on until they end, and are not queued again",
			"cause", why, "pending_cancelled", gone[why].pending, "running", gone[why].running)
	}
	return flags
}

// endOrphan cancels js if it is pending (not holding resources) and the
// facility can no longer run it, and reports whether it did.
// Caller holds mu.
func (s *Server) endOrphan(js *jobState, now time.Time, c *changes) bool {
	if js.alloc != nil || js.doc.State != api.StatePending {
		return false
	}
	why := s.unrunnable(js)
	if why == "" {
		return false
	}
	i := len(c.events) // the jobs depending on js are cancelled after it
	s.finish(js, api.StateCancelled, why, now, c)
	c.events[i].Actor = actorConfig
	return true
}

// endQueuedOrphans cancels the jobs about to enter the queue that the
// facility can no longer run: a running one that was preempted or is to
// be retried. Only a job that ran before can be one (a submission is
// checked against the facility, which changes only at a start, when
// orphans handles what is pending). Caller holds mu.
func (s *Server) endQueuedOrphans(now time.Time, c *changes) {
	for _, op := range s.queueOps {
		if op.add == nil {
			continue
		}
		if js := s.jobs[op.add.ID]; js != nil && js.job == op.add && js.doc.Attempt > 0 {
			s.endOrphan(js, now, c)
		}
	}
}

// flagShared, at reload, returns an event for each running job of a
// tenant the facility now makes exclusive (model.ExclusiveNode) that
// shares a node with another tenant's work, started before the file
// changed (recordFlags records it once): it runs on, as the scheduler
// stops nothing for it, and nothing new of another tenant is placed
// there. The event names the node, never the other tenant (the job's
// tenant reads it); the log names them for the operators. Caller has
// the server to itself.
func (s *Server) flagShared() []api.Event {
	var flags []api.Event
	tenants := map[string]map[string]bool{} // node → the tenants with work there
	for _, js := range s.running {
		for _, p := range js.alloc.Replicas {
			if tenants[p.Node] == nil {
				tenants[p.Node] = map[string]bool{}
			}
			tenants[p.Node][js.job.Tenant] = true
		}
	}
	for _, id := range sortedKeys(s.running) {
		js := s.running[id]
		t := s.fac.Tenant(js.job.Tenant)
		if t == nil || t.Exclusive != model.ExclusiveNode {
			continue
		}
		var shared []string
		for _, p := range js.alloc.Replicas {
			if len(tenants[p.Node]) > 1 && !slices.Contains(shared, p.Node) {
				shared = append(shared, p.Node)
			}
		}
		if len(shared) == 0 {
			continue
		}
		slices.Sort(shared)
		flags = append(flags, api.Event{Job: id, Tenant: js.doc.Tenant, Type: api.EventFacility, Actor: actorConfig,
			Message: fmt.Sprintf("its tenant is exclusive (never shares a node) but it shares node %s with another tenant's work started before: "+
				"it runs on; nothing new of another tenant is placed there", strings.Join(shared, ", "))})
		for _, node := range shared {
			s.log.Warn("an exclusive tenant's running job shares a node with other tenants' work, started before the facility file changed",
				"job", id, "tenant", t.Name, "node", node, "tenants", sortedSet(tenants[node]))
		}
	}
	return flags
}

// recFlags is the kind of the record of the facility and sovereignty
// events the last start found for running jobs (key flagsKey): per job,
// a digest of each event's message.
const (
	recFlags = "facility-flags"
	flagsKey = "running"
)

// recordFlags records each of flags, the facility and sovereignty events
// a start finds for running jobs (orphans, flagShared, flagOutOfPolicy's
// for the jobs it only flags), once per change of the
// facility file: those the last start found too are not recorded again,
// so that a job running for weeks past a change does not get one event
// per start; one found again after a start that did not find it (the
// change undone, then made again) is. The events and the record of what
// this start found are written together.
func (s *Server) recordFlags(ctx context.Context, flags []api.Event) error {
	found := map[string][]string{}
	for _, ev := range flags {
		found[ev.Job] = append(found[ev.Job], flagDigest(ev.Message))
	}
	before, _, err := startRecord[map[string][]string](ctx, s, recFlags, flagsKey, "the facility events of the last start")
	if err != nil {
		return err
	}
	at := s.cfg.Now().UTC()
	var evs []api.Event
	for _, ev := range flags {
		if !slices.Contains(before[ev.Job], flagDigest(ev.Message)) {
			ev.Time, ev.Message = at, clip(ev.Message)
			evs = append(evs, ev)
		}
	}
	if len(evs) == 0 && maps.EqualFunc(before, found, slices.Equal) {
		return nil
	}
	b, err := json.Marshal(found)
	if err != nil {
		return err
	}
	if err := s.putRecords(ctx, []store.Record{{Kind: recFlags, Key: flagsKey, Doc: b}}, evs); err != nil {
		return fmt.Errorf("server: recording the facility events of this start: %w", err)
	}
	return nil
}

// flagDigest is a short digest of a facility event's message.
func flagDigest(msg string) string {
	sum := sha256.Sum256([]byte(msg))
	return hex.EncodeToString(sum[:8])
}
