package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/carnot-dc/carnot/internal/auth"
)

// A task's job token (auth.Hasher.JobToken) stands for its job's current
// attempt: the server hands it in every task of the attempt (task), and
// authenticates it only while that attempt is the job's and runs. Once
// the attempt is over (the job ended, or was stopped and queued again,
// or restarted as a new attempt) it answers 401: a late report from a
// previous attempt changes nothing. The token is made under the token
// key, and any of the previous keys verifies it (a rotation does not
// end the tokens of tasks already running); nothing is stored for it.

// jobToken is the job token of js's current attempt. Caller holds mu.
func (s *Server) jobToken(js *jobState) string {
	return s.hasher.JobToken(js.doc.ID, js.doc.Attempt)
}

// authenticateJob says who sent job token text: the job principal of its
// attempt while that attempt runs.
func (s *Server) authenticateJob(text string) (auth.Principal, error) {
	job, attempt, ok := s.hasher.VerifyJobToken(text)
	for _, h := range s.previous {
		if !ok {
			job, attempt, ok = h.VerifyJobToken(text)
		}
	}
	if !ok {
		return auth.Principal{}, errUnauthenticated{why: "unknown job token"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	js := s.jobs[job]
	if why := attemptOver(js, job, attempt); why != "" {
		return auth.Principal{}, errUnauthenticated{why: why}
	}
	return auth.Principal{Subject: "job:" + job + "/" + strconv.Itoa(attempt), Role: auth.Job, Tenant: js.doc.Tenant,
		Job: job, Attempt: attempt}, nil
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
