package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/store"
)

// handleCancel cancels a job: a pending job at once; a running one by
// stopping its replicas (SIGTERM, its grace, SIGKILL), cancelled once they
// all ended. Cancelling a job that is being cancelled changes nothing.
func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	js := s.jobs[id]
	if js == nil {
		if d := s.endedJob(w, r, "cancelJob", id); d != nil {
			problemf(w, http.StatusConflict, "job %s already %s", id, d.State)
		}
		return
	}
	if !allow(w, r, "cancelJob", js.doc.Tenant, fmt.Sprintf("no job %q", id)) {
		return
	}
	now := s.cfg.Now()
	c := newChanges()
	c.actor = principalOf(r).Subject
	status := http.StatusAccepted
	switch {
	case js.alloc == nil:
		s.finish(js, api.StateCancelled, "cancelled while pending", now, c)
		status = http.StatusOK
	case js.stop != stopCancel:
		js.doc.State = api.StateCancelling
		s.stopAttempt(js, stopCancel, "cancelled", s.graceOf(js.job), now, c)
		n := 0 // those that run: not a gang's ended ones, nor a deployment's backing off
		for i := range js.doc.Replicas {
			if live(&js.doc.Replicas[i]) {
				n++
			}
		}
		// The stop keeps an earlier end (a preemption's grace under way):
		// the message and the event say when it is, and that the job is
		// being cancelled, not preempted any more.
		until := ""
		js.doc.Message = "cancelled (stopping)"
		if js.doc.StopBy != nil { // not for a stop reloaded without its end (a record of an older version)
			until = "grace until " + js.doc.StopBy.UTC().Format(time.RFC3339)
			js.doc.Message = "cancelled (stopping, " + until + ")"
			until = " (" + until + ")"
		}
		what := "replicas"
		if n == 1 {
			what = "replica"
		}
		c.job(js, api.EventCancel, fmt.Sprintf("stopping %d %s%s", n, what, until))
	}
	c.kick = true
	if err := s.commit(r.Context(), c); err != nil {
		s.fail(err)
		problemf(w, http.StatusServiceUnavailable, "the cancel could not be saved: %v", err)
		return
	}
	writeJSON(w, status, s.liveDoc(js))
}

// handleCheckpoint hears a job say it saved a checkpoint. A running job
// that nothing stops has it recorded (recordCheckpoint). A preempted job
// acknowledges with it: its replicas are killed now instead of at the
// end of the grace; likewise a deployment whose replicas leave for a
// partial preemption, for those replicas alone, unless the call names a
// replica that stays (api.CheckpointAck.Replica): that one's is recorded.
func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, ok := readBody(w, r, s.cfg.MaxBodyBytes)
	if !ok {
		return
	}
	var ack api.CheckpointAck
	if len(body) > 0 && !decodeStrict(w, body, &ack) {
		return
	}
	// an acknowledgement's note is kept in the job's events and the
	// audit log for good, and printed on terminals: one line of text, of
	// bounded size (a routine checkpoint's is checked alike, not kept)
	if msg := ackNoteProblem(ack.Message); msg != "" {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the acknowledgement is not valid",
			Errors: []api.FieldError{{Field: "message", Message: msg}}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	js := s.jobs[id]
	if js == nil {
		if d := s.endedJob(w, r, "checkpointJob", id); d != nil {
			problemf(w, http.StatusNotFound, "job %s has ended (%s): it runs no attempt, so there is no checkpoint to record or acknowledge", id, d.State)
		}
		return
	}
	if !allowJob(w, r, "checkpointJob", js.doc.Tenant, id, fmt.Sprintf("no job %q", id)) || // as for one that does not exist (endedJob)
		!attemptHolds(w, r, js) {
		return
	}
	leaving := js.stop == stopNone && js.part != nil // replicas taken by a partial preemption
	if js.stop == stopNone && !leaving && js.alloc == nil {
		problemf(w, http.StatusConflict, "job %s is %s: it runs no attempt, so there is no checkpoint to record or acknowledge", id, js.doc.State)
		return
	}
	if ack.Replica != nil && !slices.ContainsFunc(js.doc.Replicas, func(r api.Replica) bool { return r.Index == *ack.Replica }) {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the checkpoint is not valid",
			Errors: []api.FieldError{{Field: "replica", Message: fmt.Sprintf("job %s has no replica %d in its attempt %d", id, *ack.Replica, js.doc.Attempt)}}})
		return
	}
	// a replica that stays, naming itself, reports its own checkpoint:
	// those leaving have not said they are done
	stays := leaving && ack.Replica != nil && !leavingReplica(js, *ack.Replica)
	switch {
	case js.stop == stopNone && (!leaving || stays):
		s.recordCheckpoint(w, r, js)
		return
	case js.stop != stopPreempt && js.stop != stopCancel && !leaving:
		// A job cancelled may acknowledge too (below): its process
		// cannot tell a cancel's SIGTERM from a preemption's.
		problemf(w, http.StatusConflict, "job %s is being stopped (%s), not preempted or cancelled: there is no checkpoint to acknowledge, nor one to record", id, js.stopMsg)
		return
	}
	now := s.cfg.Now()
	c := newChanges()
	c.actor = principalOf(r).Subject
	if leaving {
		n := s.leaveNow(js, now, c)
		if n == 0 {
			// acknowledged already (a retried POST): they are stopping now
			writeJSON(w, http.StatusAccepted, s.liveDoc(js))
			return
		}
		c.job(js, api.EventCheckpoint, or(ack.Message, fmt.Sprintf("the %d replica(s) leaving are done; stopping them now", n)))
	} else {
		if js.doc.StopBy != nil && !js.doc.StopBy.After(now) {
			// acknowledged already, or the grace is over: they are
			// stopping now, and a second event would say so again
			writeJSON(w, http.StatusAccepted, s.liveDoc(js))
			return
		}
		s.stopAttempt(js, js.stop, js.stopMsg, 0, now, c)
		if js.stop == stopCancel {
			js.doc.Message = fmt.Sprintf("cancelled (stopping, grace until %s)", now.UTC().Format(time.RFC3339))
		}
		c.job(js, api.EventCheckpoint, or(ack.Message, "checkpoint saved; stopping now"))
	}
	if err := s.commit(r.Context(), c); err != nil {
		s.fail(err)
		problemf(w, http.StatusServiceUnavailable, "could not be saved: %v", err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.liveDoc(js))
}

// leavingReplica reports whether replica index of js is one a partial
// preemption takes: its stop is set, and it is not yet released.
func leavingReplica(js *jobState, index int) bool {
	return slices.ContainsFunc(js.doc.Replicas, func(r api.Replica) bool {
		return r.Index == index && r.StopBy != nil && !r.Released
	})
}

// endedJob reads job id, which the server does not hold (it ended, or
// there is none), from the store for a request to op on it, and returns
// it when the principal may see it, for the caller to say it ended. It
// answers and returns nil otherwise: 404 "no job" for none, and alike
// for one the principal may not see (allowJob), 503 when the store
// cannot be read.
func (s *Server) endedJob(w http.ResponseWriter, r *http.Request, op, id string) *api.Job {
	d, err := s.store.Job(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		problemf(w, http.StatusNotFound, "no job %q", id)
	case err != nil:
		problemf(w, http.StatusServiceUnavailable, "reading job %s: %v", id, err)
	case allowJob(w, r, op, d.Tenant, id, fmt.Sprintf("no job %q", id)):
		return d
	}
	return nil
}

// recordCheckpoint records that running job js, which nothing stops (or
// a replica of which that stays while others leave), saved a checkpoint now (the server's clock): the core costs preempting
// it by the GPU-time since (snapshot), as the twin's by the checkpoints
// it models. It is a field of the job (api.Job.LastCheckpoint), written
// with it, so that a restarted server and the next leader have it; a
// new attempt starts without one (startJob). No event records it, so
// neither the job's events nor the audit log gain an entry per
// checkpoint of a job that saves every few minutes for weeks; the note,
// checked as an acknowledgement's, is not kept. Caller holds mu.
func (s *Server) recordCheckpoint(w http.ResponseWriter, r *http.Request, js *jobState) {
	now := s.cfg.Now().UTC()
	if last := js.doc.LastCheckpoint; last != nil && !now.Before(*last) && now.Sub(*last) < minCheckpointGap {
		// a task reporting in a loop: the last one stands, no write
		writeJSON(w, http.StatusOK, s.liveDoc(js))
		return
	}
	js.doc.LastCheckpoint = ptrTime(now)
	c := newChanges()
	c.actor = principalOf(r).Subject
	c.job(js, "", "")
	if err := s.commit(r.Context(), c); err != nil {
		s.fail(err)
		problemf(w, http.StatusServiceUnavailable, "the checkpoint could not be saved: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, s.liveDoc(js))
}

// minCheckpointGap is the least time between two routine checkpoints the
// server records for a job: a report closer to the last one changes
// nothing, so that a task reporting in a loop costs no write (and no
// commit under the server's lock) per report. The victim is costed from
// a time at most this much older than its latest save.
const minCheckpointGap = 10 * time.Second

// maxAckNote bounds a checkpoint acknowledgement's note, in bytes.
const maxAckNote = 1024

// ackNoteProblem says what is wrong with a checkpoint acknowledgement's
// note, "" when nothing is.
func ackNoteProblem(note string) string {
	if len(note) > maxAckNote {
		return fmt.Sprintf("at most %d bytes (got %d): a line saying what was saved, e.g. its path", maxAckNote, len(note))
	}
	if i := strings.IndexFunc(note, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(note[i:])
		return fmt.Sprintf("must be one line of text without control characters (got %q at byte %d)", r, i)
	}
	return ""
}

// handleWhy explains a job: the core's reason and estimated start while
// it waits, and the jurisdictions and sites it may run in.
func (s *Server) handleWhy(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, err := s.jobDoc(r, id)
	if errors.Is(err, store.ErrNotFound) {
		problemf(w, http.StatusNotFound, "no job %q", id)
		return
	}
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading job %s: %v", id, err)
		return
	}
	if !allowJob(w, r, "whyJob", d.Tenant, id, fmt.Sprintf("no job %q", id)) {
		return
	}
	why := api.Why{Job: id, State: d.State, Reason: d.Reason, Message: d.Message}
	if d.Reason != nil {
		why.Message, why.EstStart = d.Reason.Message, d.Reason.EstStart
	}
	var spec struct {
		Jurisdictions []string `json:"jurisdictions"`
		DataClass     string   `json:"data_class"`
	}
	json.Unmarshal(d.Spec, &spec)
	s.mu.Lock()
	fac := s.fac
	s.mu.Unlock()
	tenant := fac.Tenant(d.Tenant)
	why.Jurisdictions = spec.Jurisdictions
	if len(why.Jurisdictions) == 0 && tenant != nil {
		why.Jurisdictions = tenant.Jurisdictions
	}
	// the sites the core may place it on: the tenant's, the job's and
	// the data class's tags all apply
	job := &model.Job{Tenant: d.Tenant, Jurisdictions: spec.Jurisdictions, DataClass: spec.DataClass}
	for i := range fac.Sites {
		if plan.SiteAllowed(fac, tenant, job, &fac.Sites[i]) {
			why.Sites = append(why.Sites, fac.Sites[i].ID)
		}
	}
	s.mu.Lock()
	if js := s.jobs[id]; js != nil {
		why.GPUs = s.whyGPUs(js, why.Sites)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, why)
}

func (s *Server) handleJobEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, err := s.jobDoc(r, id)
	if errors.Is(err, store.ErrNotFound) {
		problemf(w, http.StatusNotFound, "no job %q", id)
		return
	}
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading job %s: %v", id, err)
		return
	}
	if !allowJob(w, r, "jobEvents", d.Tenant, id, fmt.Sprintf("no job %q", id)) {
		return
	}
	s.events(w, r, id)
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) { s.events(w, r, "") }

func (s *Server) events(w http.ResponseWriter, r *http.Request, job string) {
	after, ok := queryInt(w, r, "after", 0, 0, 1<<62)
	if !ok {
		return
	}
	limit, ok := queryInt(w, r, "limit", 1000, 1, 10000)
	if !ok {
		return
	}
	// The store keeps a tenant's events only, before the limit: a page
	// filled with others' events and filtered here would be empty, and
	// its reader would stop there.
	p := principalOf(r)
	evs, err := s.store.Events(r.Context(), store.EventFilter{Job: job, Tenant: p.Tenant, After: after, Limit: int(limit)})
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading events: %v", err)
		return
	}
	out := make([]api.Event, 0, len(evs))
	for _, ev := range evs {
		if p.Sees(ev.Tenant) {
			out = append(out, ev)
		}
	}
	writeJSON(w, http.StatusOK, api.EventList{Events: out})
}

// forgetFinal drops a job in a final state from memory once it is
// durable (the store answers for it from now on). Until the next pass
// begins, s.gone keeps its tenant: the pass under way may name it in
// another job's reason, which ownView rewrites by its tenant. Caller
// holds mu.
func (s *Server) forgetFinal(js *jobState) {
	if api.Final(js.doc.State) && js.alloc == nil {
		delete(s.jobs, js.doc.ID)
		if s.gone == nil {
			s.gone = map[string]string{}
		}
		s.gone[js.doc.ID] = js.doc.Tenant
	}
}
