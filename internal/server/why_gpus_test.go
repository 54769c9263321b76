package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
)

// whyGPUsEnv is a facility of two sites, x (FR: n1, n2 and n3 of 8 H100,
// n5 of 8 A100) and y (DE: n4 of 8 H100), with tenants a and b; n3 is
// drained.
func whyGPUsEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, twoSitesAB(), true)
	for _, n := range []struct{ name, site string }{{"n1", "x"}, {"n2", "x"}, {"n3", "x"}, {"n4", "y"}} {
		if code := e.register(n.name, n.site, 8); code != http.StatusOK {
			t.Fatalf("register %s: %d", n.name, code)
		}
	}
	reg := api.Register{Name: "n5", Site: "x", Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256}
	for i := range 8 {
		reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, Model: "A100"})
	}
	if code := e.do("POST", "/v1/agent/register", reg, nil); code != http.StatusOK {
		t.Fatalf("register n5: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/n3/drain", nil, nil); code != http.StatusOK {
		t.Fatalf("drain n3: %d", code)
	}
	return e
}

// whyOf reads the why of job id with the credentials cred.
func whyOf(t *testing.T, e *env, cred func(*http.Request) *http.Request, id string) (api.Why, string) {
	t.Helper()
	var why api.Why
	code, body := e.doWith(cred, "GET", "/v1/jobs/"+id+"/why", nil, &why)
	if code != http.StatusOK {
		t.Fatalf("why of %s: %d %s", id, code, body)
	}
	return why, string(body)
}

// The why of a pending job counts the GPUs it could use (its models on
// its sites): free, on nodes that take nothing new, held by its
// tenant's jobs (named, with their expected ends) and by other tenants'
// (summed up, never named).
func TestWhyCountsTheGPUsAJobCouldUse(t *testing.T) {
	e := whyGPUsEnv(t)
	job := func(id, tenant string, gpus, replicas int, extra ...any) {
		s := spec(gpus, replicas, extra...)
		s["id"], s["tenant"] = id, tenant
		if code, body := e.doWith(withBearer(tokenFor(t, e.s, "operator-admin", "")), "POST", "/v1/jobs", s, nil); code != http.StatusCreated {
			t.Fatalf("submit %s: %d %s", id, code, body)
		}
	}
	fr, h100 := []string{"FR"}, []string{"H100"}
	job("alpha-1", "a", 4, 1, "gpu_model", h100, "jurisdictions", fr, "runtime_limit", "2h")
	job("alpha-2", "a", 2, 1, "gpu_model", h100, "jurisdictions", fr)
	job("alpha-de", "a", 2, 1, "jurisdictions", []string{"DE"}, "runtime_limit", "10m")
	job("bravo-1", "b", 8, 1, "gpu_model", h100, "jurisdictions", fr, "runtime_limit", "1h")
	job("bravo-2", "b", 1, 1, "gpu_model", h100, "jurisdictions", fr, "runtime_limit", "3h")
	job("bravo-a100", "b", 4, 1, "gpu_model", []string{"A100"})
	e.pass()
	for _, id := range []string{"alpha-1", "alpha-2", "alpha-de", "bravo-1", "bravo-2", "bravo-a100"} {
		if j := e.job(id); j.State != api.StateRunning {
			t.Fatalf("%s is %s (%s), want running", id, j.State, j.Message)
		}
	}
	e.clock.add(5 * time.Minute)
	for _, n := range []string{"n1", "n2", "n3", "n4", "n5"} { // all run, no node went silent
		var sts []api.TaskStatus
		for _, tk := range e.tasks(n) {
			sts = append(sts, running(tk.Job, tk.Replica, tk.Attempt))
		}
		e.report(n, sts...)
	}
	job("alpha-wait", "a", 8, 2, "gpu_model", h100, "jurisdictions", fr, "priority_class", "low")
	job("bravo-wait", "b", 8, 1, "jurisdictions", fr, "priority_class", "low")
	job("bravo-cpu", "b", 0, 1, "cpus", 4, "jurisdictions", fr, "priority_class", "low", "earliest_start", "2026-03-03T00:00:00Z")
	e.pass()
	at := func(h, m int) *time.Time { t := time.Date(2026, 3, 2, h, m, 0, 0, time.UTC); return &t }

	asA, asB := withBearer(tokenFor(t, e.s, "member", "a")), withBearer(tokenFor(t, e.s, "member", "b"))
	why, body := whyOf(t, e, asA, "alpha-wait")
	want := &api.WhyGPUs{Models: h100, Total: 24, Free: 1, Unavailable: 8,
		Own:     []api.WhyHolder{{Job: "alpha-1", GPUs: 4, EndsAt: at(12, 0)}, {Job: "alpha-2", GPUs: 2}},
		OwnGPUs: 6, Others: api.WhyOthers{Jobs: 2, GPUs: 9, FirstEnd: at(11, 0)}}
	if d := cmp.Diff(want, why.GPUs); d != "" {
		t.Errorf("why of alpha-wait (-want +got):\n%s", d)
	}
	if strings.Contains(body, "bravo") {
		t.Errorf("a's why names a job of b:\n%s", body)
	}

	// any model: the A100 node's GPUs count too
	why, body = whyOf(t, e, asB, "bravo-wait")
	want = &api.WhyGPUs{Models: []string{"A100", "H100"}, Total: 32, Free: 5, Unavailable: 8,
		Own: []api.WhyHolder{{Job: "bravo-1", GPUs: 8, EndsAt: at(11, 0)}, {Job: "bravo-2", GPUs: 1, EndsAt: at(13, 0)},
			{Job: "bravo-a100", GPUs: 4}},
		OwnGPUs: 13, Others: api.WhyOthers{Jobs: 2, GPUs: 6, FirstEnd: at(12, 0)}}
	if d := cmp.Diff(want, why.GPUs); d != "" {
		t.Errorf("why of bravo-wait (-want +got):\n%s", d)
	}
	if strings.Contains(body, "alpha") || strings.Contains(body, `"a"`) {
		t.Errorf("b's why names a job of a, or tenant a:\n%s", body)
	}

	// an operator reads the same figures
	if why, _ := whyOf(t, e, withBearer(tokenFor(t, e.s, "operator", "")), "bravo-wait"); cmp.Diff(want, why.GPUs) != "" {
		t.Errorf("an operator's why of bravo-wait: %+v", why.GPUs)
	}
	// a running job, or one that asks for no GPU, has none
	for id, state := range map[string]string{"bravo-1": api.StateRunning, "bravo-cpu": api.StatePending} {
		if why, body := whyOf(t, e, asB, id); why.State != state || why.GPUs != nil || strings.Contains(body, `"gpus"`) {
			t.Errorf("why of %s: %s", id, body)
		}
	}
}

// At most 10 of the tenant's jobs are named, the soonest to end first,
// those without a runtime limit last; own_more counts the rest.
func TestWhyNamesTenOwnJobs(t *testing.T) {
	e := newEnv(t, DevFacility("x", "FR"), true)
	if code := e.register("n1", "x", 16); code != http.StatusOK {
		t.Fatalf("register: %d", code)
	}
	for i := range 12 {
		s := spec(1, 1, "id", "run-"+string(rune('a'+i)))
		if i >= 2 { // run-a and run-b have no limit; run-l ends first
			s["runtime_limit"] = (time.Duration(13-i) * time.Hour).String()
		}
		e.submit(s)
	}
	e.pass()
	id := e.submit(spec(8, 1))
	e.pass()
	var why api.Why
	if code := e.do("GET", "/v1/jobs/"+id+"/why", nil, &why); code != http.StatusOK || why.GPUs == nil {
		t.Fatalf("why: %d %+v", code, why)
	}
	var names []string
	for _, h := range why.GPUs.Own {
		names = append(names, h.Job)
	}
	if got := strings.Join(names, ","); got != "run-l,run-k,run-j,run-i,run-h,run-g,run-f,run-e,run-d,run-c" ||
		why.GPUs.OwnMore != 2 || why.GPUs.OwnGPUs != 12 || why.GPUs.Free != 4 || why.GPUs.Total != 16 {
		t.Errorf("own %s, own_more %d, own_gpus %d, free %d of %d; want run-l … run-c, 2 more, 12 GPUs, 4 free of 16",
			got, why.GPUs.OwnMore, why.GPUs.OwnGPUs, why.GPUs.Free, why.GPUs.Total)
	}
}
