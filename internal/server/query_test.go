package server

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A query parameter a route does not take is refused, named, with the
// ones it takes: a misspelt filter would otherwise answer as if none
// were given.
func TestUnknownQueryParametersAreRefused(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	for _, tc := range []struct{ path, param, takes string }{
		{"/v1/events?since=abc", "since", "after, limit"},
		{"/v1/usage?from=2026-01-01", "from", "no query parameters"},
		{"/v1/jobs?tenat=acme", "tenat", "tenant"},
		{"/v1/jobs/" + id + "/logs?atempt=1", "atempt", "attempt"},
	} {
		w := e.raw("GET", tc.path, nil)
		got := w.Body.String()
		if w.Code != 400 || !strings.Contains(got, `"field":"`+tc.param+`"`) || !strings.Contains(got, tc.takes) {
			t.Errorf("GET %s: %d %s; want 400 naming %s and listing %s", tc.path, w.Code, got, tc.param, tc.takes)
		}
	}
	// Every route, whatever it is.
	for _, rt := range api.Routes {
		if rt.Op == "agentEnroll" {
			continue // the test's credentials may not enroll: 403 comes first
		}
		path := strings.NewReplacer("{id}", id, "{name}", "n1").Replace(rt.Path) + "?bogus=1"
		req := httptest.NewRequest(rt.Method, path, nil)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"bogus"`) {
			t.Errorf("%s %s: %d %s; want 400 naming bogus", rt.Method, path, w.Code, w.Body)
		}
		checkDocumented(t, e.s.mux, req, w.Code)
	}
}

// The detail names the route once: r.Pattern holds the method already, so
// it read "GET GET /v1/jobs takes …".
func TestUnknownQueryParameterDetailNamesTheRouteOnce(t *testing.T) {
	e := devEnv(t)
	w := e.raw("GET", "/v1/jobs?foo=bar", nil)
	var p api.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != 400 {
		t.Fatalf("GET /v1/jobs?foo=bar: %d %s (%v)", w.Code, w.Body, err)
	}
	want := `unknown query parameter "foo": GET /v1/jobs takes after, kind, limit, priority_class, state, tenant`
	if p.Detail != want {
		t.Errorf("detail %q, want %q", p.Detail, want)
	}
}

// GET /v1/jobs?kind= takes the kinds the OpenAPI document lists: another
// (a typo, "deployments") is refused naming kind, as an unknown state is,
// instead of answering an empty list as if there were no such jobs.
func TestListJobsRefusesAnUnknownKind(t *testing.T) {
	e := devEnv(t)
	e.submit(spec(1, 1))
	for _, tc := range []struct {
		q    string
		code int
	}{{"kind=job", 200}, {"kind=deployment", 200}, {"kind=deployments", 400}, {"kind=Job", 400}} {
		w := e.raw("GET", "/v1/jobs?"+tc.q, nil)
		if w.Code != tc.code || tc.code == 400 && !strings.Contains(w.Body.String(), `"field":"kind"`) {
			t.Errorf("GET /v1/jobs?%s: %d %s; want %d", tc.q, w.Code, w.Body, tc.code)
		}
	}
}

// follow= takes a boolean, as its OpenAPI schema and the node agent's
// route do: another value is refused naming follow, instead of answering
// the output so far as if follow=false had been asked.
func TestLogsRefusesANonBooleanFollow(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	for _, v := range []string{"maybe", "yes", "2"} {
		w := e.raw("GET", "/v1/jobs/"+id+"/logs?follow="+v, nil)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"follow"`) {
			t.Errorf("follow=%s: %d %s; want 400 naming follow", v, w.Code, w.Body)
		}
	}
}

// A refusal's error of no field (an unknown field of the job) is recorded
// without an empty field name: "the job is not valid; unknown field …",
// not "…; : unknown field …".
func TestRejectedEventOfAnErrorWithoutField(t *testing.T) {
	e := devEnv(t)
	if code := e.do("POST", "/v1/jobs", map[string]any{"tenant": "default", "gpus": 1, "gpu": 3, "command": []string{"x"}}, nil); code != 400 {
		t.Fatalf("a job with an unknown field: %d", code)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	last := evs.Events[len(evs.Events)-1]
	if last.Type != api.EventRejected || strings.Contains(last.Message, "; : ") || !strings.Contains(last.Message, `; unknown field "gpu"`) {
		t.Errorf("rejected event %q; want the error without an empty field name", last.Message)
	}
}

// A job cancelled while it ran finishes with an event that says so once:
// "cancelled", not "cancelled: cancelled".
func TestFinishedEventOfACancelSaysItOnce(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	if code := e.do("POST", "/v1/jobs/"+id+"/cancel", nil, nil); code != 202 {
		t.Fatalf("cancel: %d", code)
	}
	e.report("n1", api.TaskStatus{Job: id, Replica: 0, Attempt: 1, State: api.ReplicaExited, Signal: "terminated"})
	var evs api.EventList
	e.do("GET", "/v1/jobs/"+id+"/events", nil, &evs)
	last := evs.Events[len(evs.Events)-1]
	if last.Type != api.EventFinished || last.Message != "cancelled" {
		t.Errorf("last event %s %q; want finished \"cancelled\"", last.Type, last.Message)
	}
}
