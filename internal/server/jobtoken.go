package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/store"
)

// A task's job token (auth.Hasher.JobToken) stands for its job's current
// attempt as it started: the server hands it in every task of the
// attempt (task), and authenticates it only while that attempt is the
// job's and runs. Once the attempt is over (the job ended, or was
// stopped and queued again, or restarted as a new attempt) it answers
// 401: a late report from a previous attempt changes nothing. The token
// is made under the token key, and any of the previous keys verifies it
// (a rotation does not end the tokens of tasks already running); nothing
// is stored for it. Its MAC covers the attempt's start, which the
// server records with the job (api.Job.StartTime, and each earlier
// attempt's in PastAttempts): a token of the same job and attempt
// number that started at another time (another control plane sharing
// the token key, or an attempt replayed by a restore of the store) does
// not verify. An attempt's start is fixed before any of its tasks is
// handed (startsNow moves it only while every replica is held back,
// none handed), so every task of it gets the same token.

// jobToken is the job token of js's current attempt. Caller holds mu.
func (s *Server) jobToken(js *jobState) string {
	return s.hasher.JobToken(js.doc.ID, js.doc.Attempt, startOf(js.doc.StartTime))
}

// startOf is the start an attempt's job token is made for: the zero
// time for an attempt recorded without one (none is).
func startOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// attemptStart is when attempt of job d started, as d records it: its
// current attempt's start, or an earlier one's (PastAttempts); false
// when d keeps none.
func attemptStart(d *api.Job, attempt int) (time.Time, bool) {
	if d.Attempt == attempt {
		return startOf(d.StartTime), d.StartTime != nil
	}
	for _, p := range d.PastAttempts {
		if p.Attempt == attempt && p.StartTime != nil {
			return *p.StartTime, true
		}
	}
	return time.Time{}, false
}

// authenticateJob says who sent job token text: the job principal of its
// attempt while that attempt runs. The MAC is checked first, for the
// start of the attempt the token names (of the job the server runs, or
// of the one it ended, in the store): a token that does not verify
// learns nothing of the job, not even whether it exists.
func (s *Server) authenticateJob(ctx context.Context, text string) (auth.Principal, error) {
	job, attempt, _, err := auth.ParseJobToken(text)
	if err != nil {
		return auth.Principal{}, errUnauthenticated{why: "unknown job token"}
	}
	s.mu.Lock()
	js := s.jobs[job]
	var start time.Time
	known := false
	if js != nil {
		start, known = attemptStart(&js.doc, attempt)
	}
	s.mu.Unlock()
	if js == nil { // ended (its token is refused below, saying so), or none
		switch d, err := s.store.Job(ctx, job); {
		case err == nil:
			start, known = attemptStart(d, attempt)
		case !errors.Is(err, store.ErrNotFound):
			return auth.Principal{}, fmt.Errorf("reading job %q: %w", job, err)
		}
	}
	if !known || !s.verifyJobToken(text, start) {
		return auth.Principal{}, errUnauthenticated{why: fmt.Sprintf("unknown job token: it is not the token of job %q, attempt %d, "+
			"as that attempt started on this control plane, under its token key or a previous one (a token of another control plane "+
			"that shares the token key, of an attempt that a restore of the store replayed, or made under a key the server no longer has)",
			job, attempt)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	js = s.jobs[job]
	if why := attemptOver(js, job, attempt); why != "" {
		return auth.Principal{}, errUnauthenticated{why: why}
	}
	return auth.Principal{Subject: "job:" + job + "/" + strconv.Itoa(attempt), Role: auth.Job, Tenant: js.doc.Tenant,
		Job: job, Attempt: attempt}, nil
}

// verifyJobToken reports whether text is a job token made under the
// token key or a previous one for an attempt that started at start.
func (s *Server) verifyJobToken(text string, start time.Time) bool {
	if _, _, ok := s.hasher.VerifyJobToken(text, start); ok {
		return true
	}
	for _, h := range s.previous {
		if _, _, ok := h.VerifyJobToken(text, start); ok {
			return true
		}
	}
	return false
}

// attemptOver says why the job token of attempt of job, whose state is
// js (nil for a job that ended, or none), no longer authenticates; ""
// while the attempt runs (being stopped included: a preempted task
// acknowledges its notice with it). Caller holds mu.
func attemptOver(js *jobState, job string, attempt int) string {
	switch {
	case js == nil:
		return fmt.Sprintf("the job token of job %s, attempt %d, no longer holds: the job has ended", job, attempt)
	case js.doc.Attempt != attempt:
		return fmt.Sprintf("the job token of job %s, attempt %d, no longer holds: the job is at attempt %d", job, attempt, js.doc.Attempt)
	case js.alloc == nil && js.part == nil:
		return fmt.Sprintf("the job token of job %s, attempt %d, no longer holds: the attempt is over (the job is %s)", job, attempt, js.doc.State)
	}
	return ""
}

// attemptHolds checks, for a request of a job principal, that its
// attempt is still js's and runs: it held when the request was
// authenticated, but mu was let go since. It answers 401 and returns
// false when not; true for any other principal. Caller holds mu.
func attemptHolds(w http.ResponseWriter, r *http.Request, js *jobState) bool {
	p := principalOf(r)
	if p.Role != auth.Job {
		return true
	}
	if why := attemptOver(js, p.Job, p.Attempt); why != "" {
		unauthorized(w, r, errUnauthenticated{why: why})
		return false
	}
	return true
}

// allowJob is allow for op on job id, of tenant: a job principal may act
// on its own job only, and is answered 404 for another (notFound), as a
// principal is for another tenant's.
func allowJob(w http.ResponseWriter, r *http.Request, op, tenant, id, notFound string) bool {
	return answerAuthz(w, auth.AuthorizeJob(principalOf(r), op, tenant, id), notFound)
}
