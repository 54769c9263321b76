package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

// A refusal's error of an unknown field of the job is recorded with the
// field it names: "the job is not valid; gpu: unknown field …", not
// "…; : unknown field …".
func TestRejectedEventOfAnErrorWithoutField(t *testing.T) {
	e := devEnv(t)
	if code := e.do("POST", "/v1/jobs", map[string]any{"tenant": "default", "gpus": 1, "gpu": 3, "command": []string{"x"}}, nil); code != 400 {
		t.Fatalf("a job with an unknown field: %d", code)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	last := evs.Events[len(evs.Events)-1]
	if last.Type != api.EventRejected || strings.Contains(last.Message, "; : ") || !strings.Contains(last.Message, `; gpu: unknown field (did you mean "gpus"?)`) {
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

// A query parameter that takes one value, given twice, is refused naming
// it, on every route: "?limit=1&limit=500" would otherwise take one of the
// two without saying which. A list parameter (state) takes every value.
func TestRepeatedQueryParametersAreRefused(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1))
	for _, rt := range api.Routes {
		if rt.Op == "agentEnroll" {
			continue // the test's credentials may not enroll: 403 comes first
		}
		for _, p := range queryParamsOf(t, rt.Op) {
			if p == "state" {
				continue
			}
			path := strings.NewReplacer("{id}", id, "{name}", "n1").Replace(rt.Path) + "?" + p + "=1&" + p + "=2"
			// A stream or long poll that took one value ends at its
			// answer, or after a while: a test that fails, not hangs.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			req := httptest.NewRequest(rt.Method, path, nil).WithContext(ctx)
			w := &endOnAnswer{httptest.NewRecorder(), cancel}
			e.h.ServeHTTP(w, req)
			cancel()
			if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"`+p+`"`) || !strings.Contains(w.Body.String(), "once") {
				t.Errorf("%s %s: %d %s; want 400 naming %s, given more than once", rt.Method, path, w.Code, w.Body, p)
			}
			checkDocumented(t, e.s.mux, req, w.Code)
		}
	}
	var list api.JobList
	if code := e.do("GET", "/v1/jobs?state=pending&state=running", nil, &list); code != 200 || len(list.Jobs) != 1 {
		t.Errorf("GET /v1/jobs?state=pending&state=running: %d, %d jobs; want 200 and the pending job", code, len(list.Jobs))
	}
}

// queryParamsOf names the query parameters of op in openapi.json.
func queryParamsOf(t *testing.T, op string) []string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Ref  string `json:"$ref"`
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]struct{ Name, In string } `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ops := range doc.Paths {
		for _, o := range ops {
			if o.OperationID != op {
				continue
			}
			for _, p := range o.Parameters {
				if p.Ref != "" {
					c := doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
					p.Name, p.In = c.Name, c.In
				}
				if p.In == "query" {
					names = append(names, p.Name)
				}
			}
		}
	}
	return names
}
