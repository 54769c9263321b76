package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A CPU-only job whose replica asks for more CPUs or memory than any node
// has is refused at submission, naming the field, as a GPU job's is:
// accepted, it waited for ever ("eligible nodes have at most 32 CPUs
// free"). The node's size is its agent's (32 CPUs, 256 GiB here).
func TestSubmitRefusesACPUOnlyReplicaNoNodeHolds(t *testing.T) {
	e := devEnv(t)
	for _, tc := range []struct {
		body  string
		code  int
		field string
	}{
		{`{"tenant":"default","gpus":0,"cpus":64,"command":["x"]}`, http.StatusBadRequest, "cpus"},
		{`{"tenant":"default","gpus":0,"memory_gib":512,"command":["x"]}`, http.StatusBadRequest, "memory_gib"},
		{`{"tenant":"default","gpus":1,"cpus":64,"command":["x"]}`, http.StatusBadRequest, "cpus"},
		{`{"tenant":"default","gpus":0,"cpus":32,"memory_gib":256,"command":["x"]}`, http.StatusCreated, ""},
	} {
		w := e.raw("POST", "/v1/jobs", []byte(tc.body))
		if w.Code != tc.code {
			t.Errorf("POST /v1/jobs %s: %d %s; want %d", tc.body, w.Code, w.Body, tc.code)
			continue
		}
		if tc.field == "" {
			continue
		}
		var p api.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
			t.Errorf("POST /v1/jobs %s: %s; want one error naming %s", tc.body, w.Body, tc.field)
		}
	}
}

// A gang that must stay in one site (topology site, the default) and
// needs more GPUs than either site has, though not more than both, is
// refused at submission naming replicas: accepted, it waited for ever.
// Of topology any it may span the sites, and is accepted.
func TestSubmitRefusesAGangLargerThanAnySite(t *testing.T) {
	e := newEnv(t, twoSites(), true)
	for _, n := range []struct{ name, site string }{{"n1", "fr"}, {"n2", "de"}} {
		if code := e.register(n.name, n.site, 8); code != http.StatusOK {
			t.Fatalf("register %s: %d", n.name, code)
		}
	}
	for _, tc := range []struct {
		body  string
		code  int
		field string
	}{
		{`{"tenant":"default","gpus":8,"replicas":2,"command":["x"]}`, http.StatusBadRequest, "replicas"},
		{`{"tenant":"default","gpus":8,"replicas":2,"topology":"rack","command":["x"]}`, http.StatusBadRequest, "replicas"},
		{`{"tenant":"default","gpus":8,"replicas":2,"topology":"any","command":["x"]}`, http.StatusCreated, ""},
		{`{"tenant":"default","gpus":4,"replicas":2,"command":["x"]}`, http.StatusCreated, ""},
	} {
		w := e.raw("POST", "/v1/jobs", []byte(tc.body))
		if w.Code != tc.code {
			t.Errorf("POST /v1/jobs %s: %d %s; want %d", tc.body, w.Code, w.Body, tc.code)
			continue
		}
		if tc.field == "" {
			continue
		}
		var p api.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Field != tc.field ||
			!strings.Contains(p.Errors[0].Message, "in one site") {
			t.Errorf("POST /v1/jobs %s: %s; want one error naming %s, saying in one site", tc.body, w.Body, tc.field)
		}
	}
}

// A gang of topology any needs whole replicas of one GPU model: two
// nodes of 8 hold one replica of 5 GPUs each, so 3 × 5 (15 of their 16
// GPUs) never starts, and is refused at submission naming replicas; a
// deployment is judged by the replicas it starts with, its
// min_replicas, refused naming that field.
func TestSubmitRefusesAGangOfWholeReplicasNoModelHolds(t *testing.T) {
	e := newEnv(t, twoSites(), true)
	for _, n := range []struct{ name, site string }{{"n1", "fr"}, {"n2", "de"}} {
		if code := e.register(n.name, n.site, 8); code != http.StatusOK {
			t.Fatalf("register %s: %d", n.name, code)
		}
	}
	for _, tc := range []struct {
		path, body string
		code       int
		field      string
	}{
		{"/v1/jobs", `{"tenant":"default","gpus":5,"replicas":3,"topology":"any","command":["x"]}`, http.StatusBadRequest, "replicas"},
		{"/v1/jobs", `{"tenant":"default","gpus":5,"replicas":2,"topology":"any","command":["x"]}`, http.StatusCreated, ""},
		{"/v1/deployments", `{"tenant":"default","gpus":5,"replicas":3,"min_replicas":3,"command":["x"]}`, http.StatusBadRequest, "min_replicas"},
		{"/v1/deployments", `{"tenant":"default","gpus":5,"replicas":3,"min_replicas":2,"command":["x"]}`, http.StatusCreated, ""},
	} {
		w := e.raw("POST", tc.path, []byte(tc.body))
		if w.Code != tc.code {
			t.Errorf("POST %s %s: %d %s; want %d", tc.path, tc.body, w.Code, w.Body, tc.code)
			continue
		}
		if tc.field == "" {
			continue
		}
		var p api.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Field != tc.field ||
			!strings.Contains(p.Errors[0].Message, "of one GPU model") {
			t.Errorf("POST %s %s: %s; want one error naming %s, saying of one GPU model", tc.path, tc.body, w.Body, tc.field)
		}
	}
}

// A gang is counted in the sites it may use alone: two nodes of 8, one
// per site, hold two replicas of 8 spanning the sites, but a job that
// may run in de only holds one, and never starts; it is refused at
// submission naming replicas and the sites it may use.
func TestSubmitRefusesAGangLargerThanItsSites(t *testing.T) {
	e := newEnv(t, twoSites(), true)
	for _, n := range []struct{ name, site string }{{"n1", "fr"}, {"n2", "de"}} {
		if code := e.register(n.name, n.site, 8); code != http.StatusOK {
			t.Fatalf("register %s: %d", n.name, code)
		}
	}
	for _, tc := range []struct {
		body  string
		code  int
		field string
	}{
		{`{"tenant":"default","gpus":8,"replicas":2,"topology":"any","jurisdictions":["DE"],"command":["x"]}`, http.StatusBadRequest, "replicas"},
		{`{"tenant":"default","gpus":8,"replicas":2,"topology":"any","jurisdictions":["EU"],"command":["x"]}`, http.StatusCreated, ""},
		{`{"tenant":"default","gpus":8,"replicas":1,"jurisdictions":["DE"],"command":["x"]}`, http.StatusCreated, ""},
	} {
		w := e.raw("POST", "/v1/jobs", []byte(tc.body))
		if w.Code != tc.code {
			t.Errorf("POST /v1/jobs %s: %d %s; want %d", tc.body, w.Code, w.Body, tc.code)
			continue
		}
		if tc.field == "" {
			continue
		}
		var p api.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Field != tc.field ||
			!strings.Contains(p.Errors[0].Message, "the only site it may use (de; jurisdictions: DE)") {
			t.Errorf("POST /v1/jobs %s: %s; want one error naming %s and the site it may use", tc.body, w.Body, tc.field)
		}
	}
}
