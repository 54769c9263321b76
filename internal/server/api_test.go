package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// listedFacility has two sites; node a1 is listed in site a.
func listedFacility() *model.Facility {
	f := DevFacility("a", "FR")
	f.Sites = append(f.Sites, model.Site{ID: "b", Name: "b", Country: "DE", Jurisdictions: []string{"EU", "DE"}, PowerEnvelopeKW: 100, PUE: 1.3, GridZone: "DE"})
	f.Halls = append(f.Halls, model.Hall{ID: "b-hall", Site: "b"})
	f.Racks = []model.Rack{{ID: "ra", Hall: "a-hall"}}
	f.Nodes = []model.Node{{Name: "a1", Site: "a", Hall: "a-hall", Rack: "ra", GPUModel: "H100", GPUs: 8, CPUs: 32, MemoryGiB: 256}}
	return f
}

// A node listed in one site cannot register in another; with
// DynamicNodes off, unlisted nodes are refused; both refusals are
// recorded as node events.
func TestRegistrationRefusals(t *testing.T) {
	e := newEnv(t, listedFacility(), false)
	var p api.Problem
	reg := api.Register{Name: "a1", Site: "b", GPUs: []api.GPUInfo{{Index: 0, Model: "H100"}}}
	if code := e.do("POST", "/v1/agent/register", reg, &p); code != http.StatusForbidden || !strings.Contains(p.Detail, "site a") {
		t.Fatalf("a1 claiming site b: %d %q", code, p.Detail)
	}
	if code := e.register("x9", "a", 8); code != http.StatusForbidden {
		t.Fatalf("unlisted node: %d", code)
	}
	if code := e.register("a1", "nowhere", 8); code != http.StatusForbidden {
		t.Fatalf("unknown site: %d", code)
	}
	if code := e.register("a1", "a", 4); code != 200 {
		t.Fatalf("a1 in its own site: %d", code)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	refused := 0
	for _, ev := range evs.Events {
		if ev.Type == api.EventNode && strings.Contains(ev.Message, "refused") {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("%d refusal events, want 3: %+v", refused, evs.Events)
	}
	// The agent's figures win over the file's: a1 has 4 GPUs now.
	if got := e.s.fac.Nodes[0].GPUs; got != 4 {
		t.Errorf("a1 has %d GPUs in the facility, want the 4 its agent reported", got)
	}
}

// Bad registrations and heartbeats name the field.
func TestAgentInputErrors(t *testing.T) {
	e := newEnv(t, listedFacility(), true)
	cases := []struct {
		path, body string
		status     int
		field      string
	}{
		{"/v1/agent/register", `{"name":"a1","site":"a","gpus":[{"index":0,"model":"H100"},{"index":1,"model":"A100"}]}`, 400, "gpus[1].model"},
		{"/v1/agent/register", `{"name":"-bad","site":"a"}`, 400, "name"},
		{"/v1/agent/register", `{"name":"a1","site":"a","cpus":"many"}`, 400, "cpus"},
		{"/v1/agent/register", `{"name":"a1","site":"a","colour":"blue"}`, 400, "colour"},
		{"/v1/agent/register", `{"name":"a1","site":"a","address":"ftp://x"}`, 400, "address"},
		{"/v1/agent/nodes/ghost/heartbeat", `{"tasks":[]}`, 404, ""},
	}
	for _, c := range cases {
		var p api.Problem
		code := e.do("POST", c.path, []byte(c.body), &p)
		if code != c.status {
			t.Errorf("%s %s: %d, want %d (%+v)", c.path, c.body, code, c.status, p)
			continue
		}
		if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != c.field) {
			t.Errorf("%s %s: errors %+v, want field %q", c.path, c.body, p.Errors, c.field)
		}
	}
	req := httptest.NewRequest("POST", "/v1/jobs", strings.NewReader("tenant=default"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	if w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("form body: %d", w.Code)
	}
}

// A restarted server reloads unfinished jobs; a node whose agent comes
// back without a replica it ran loses it.
func TestRestartReloadsState(t *testing.T) {
	e := devEnv(t)
	run := e.submit(spec(8, 1))
	e.pass()
	e.report("n1", running(run, 0, 1))
	wait := e.submit(spec(8, 1))
	done := e.submit(spec(0, 1, "cpus", 1))
	e.pass()
	// done could not start: the node's 8 GPUs are taken but CPUs are not.
	e.report("n1", running(run, 0, 1), exited(done, 0, 1, 0))
	if j := e.job(done); j.State != api.StateSucceeded {
		t.Fatalf("cpu job: %s", j.State)
	}
	e.s.store.Close()

	e2 := openEnv(t, e.dir, DevFacility("local", "FR"), true, e.clock)
	if j := e2.job(run); j.State != api.StateRunning {
		t.Fatalf("reloaded running job: %s", j.State)
	}
	if j := e2.job(wait); j.State != api.StatePending {
		t.Fatalf("reloaded pending job: %s", j.State)
	}
	if j := e2.job(done); j.State != api.StateSucceeded {
		t.Fatalf("finished job after restart: %s", j.State)
	}
	if _, ok := e2.s.jobs[done]; ok {
		t.Errorf("a finished job was reloaded into memory")
	}
	// The agent restarted too and reports no task: the replica is lost.
	if code := e2.register("n1", "local", 8); code != 200 {
		t.Fatal(code)
	}
	if j := e2.job(run); j.State != api.StateFailed || j.Replicas[0].State != api.ReplicaLost {
		t.Fatalf("running job whose agent forgot it: %s %+v", j.State, j.Replicas)
	}
	e2.pass()
	if j := e2.job(wait); j.State != api.StateRunning {
		t.Fatalf("the pending job did not start after the restart: %s %s", j.State, j.Message)
	}
}

// Energy: power × time per GPU held by the job, × PUE, priced at the
// grid's hour.
func TestEnergyAccounting(t *testing.T) {
	e := devEnv(t)
	h := model.TimeOf(e.clock.now().Truncate(time.Hour))
	e.s.cfg.Grid = []model.GridSeries{{Zone: "FR", Hours: []model.GridHour{{Start: h, PriceEURMWh: 100, CarbonGkWh: 50}}}}
	id := e.submit(spec(2, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	gpus := e.job(id).Replicas[0].GPUs
	beat := func(w float64) {
		var samples []api.GPUSample
		for g := range 8 {
			samples = append(samples, api.GPUSample{Index: g, Time: e.clock.now(), PowerW: w})
		}
		e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{Tasks: []api.TaskStatus{running(id, 0, 1)}, GPUs: samples}, nil)
	}
	beat(500)
	e.clock.add(time.Second)
	beat(600) // 2 GPUs × 600 W × 1 s
	e.clock.add(time.Second)
	beat(700) // 2 GPUs × 700 W × 1 s
	u := e.job(id).Usage
	wantIT := 2 * (600.0 + 700.0) / 3600 / 1000
	pue := 1.2
	if diff := u.ITKWh - wantIT; diff > 1e-12 || diff < -1e-12 {
		t.Errorf("IT energy %v kWh, want %v (GPUs %v)", u.ITKWh, wantIT, gpus)
	}
	if d := u.KWh - wantIT*pue; d > 1e-12 || d < -1e-12 {
		t.Errorf("facility energy %v, want %v", u.KWh, wantIT*pue)
	}
	if d := u.EUR - wantIT*pue/1000*100; d > 1e-12 || d < -1e-12 {
		t.Errorf("cost %v EUR, want %v", u.EUR, wantIT*pue/1000*100)
	}
	if d := u.GCO2e - wantIT*pue*50; d > 1e-9 || d < -1e-9 {
		t.Errorf("carbon %v g, want %v", u.GCO2e, wantIT*pue*50)
	}
	// A gap in reports is not filled beyond three heartbeats.
	e.clock.add(time.Hour)
	beat(700)
	if got, max := e.job(id).Usage.ITKWh-wantIT, 2*700*3.0/3600/1000; got > max+1e-12 {
		t.Errorf("an hour without reports added %v kWh, at most %v", got, max)
	}
}

// Concurrent submissions with one idempotency key make one job; the same
// key with another spec is a conflict.
func TestIdempotencyKey(t *testing.T) {
	e := devEnv(t)
	body, _ := json.Marshal(spec(1, 1))
	ids := make([]string, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest("POST", "/v1/jobs", strings.NewReader(string(body)))
			req.Header.Set(api.IdempotencyKeyHeader, "k1")
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, req)
			var j api.Job
			json.Unmarshal(w.Body.Bytes(), &j)
			ids[i] = fmt.Sprint(w.Code, " ", j.ID)
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range ids {
		created += strings.Count(s, "201 ")
		if !strings.HasSuffix(s, strings.Fields(ids[0])[1]) {
			t.Errorf("answers differ: %v", ids)
			break
		}
	}
	if created != 1 {
		t.Errorf("%d submissions created a job, want 1: %v", created, ids)
	}
	other, _ := json.Marshal(spec(2, 1))
	req := httptest.NewRequest("POST", "/v1/jobs", strings.NewReader(string(other)))
	req.Header.Set(api.IdempotencyKeyHeader, "k1")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	if w.Code != http.StatusConflict {
		t.Errorf("same key, other spec: %d %s", w.Code, w.Body)
	}
}

// /v1/watch streams events as they happen.
func TestWatch(t *testing.T) {
	e := devEnv(t)
	hs := httptest.NewServer(e.h)
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/v1/watch")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	id := e.submit(spec(1, 1))
	rd := bufio.NewReader(resp.Body)
	deadline := time.AfterFunc(10*time.Second, func() { resp.Body.Close() })
	defer deadline.Stop()
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before the submission event: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var ev api.Event
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Job == id && ev.Type == api.EventSubmitted {
				return
			}
		}
	}
}

// /metrics exposes the queue, GPUs, pass latency and power.
func TestMetrics(t *testing.T) {
	e := devEnv(t)
	e.submit(spec(8, 1))
	e.submit(spec(8, 1))
	e.pass()
	req := httptest.NewRequest("GET", "/metrics", nil)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	body, _ := io.ReadAll(w.Body)
	for _, want := range []string{`carnot_queue_length{tenant="default"} 1`, `carnot_gpus{model="H100",site="local",state="used"} 8`,
		`carnot_scheduling_pass_seconds_count 1`, `carnot_placements_total 1`, `carnot_submissions_total 2`,
		`carnot_site_power_envelope_watts{site="local"} 100000`, `carnot_nodes{condition="ready",site="local"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// The API's own rules on a submission: the server sets the submit time,
// picks an ID when none is given, /v1/deployments takes deployments,
func TestSubmitRules(t *testing.T) {
	e := devEnv(t)
	var p api.Problem
	if code := e.do("POST", "/v1/jobs", spec(1, 1, "submit_time", 1700000000), &p); code != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "submit_time" {
		t.Errorf("submit_time: %d %+v", code, p)
	}
	if code := e.do("POST", "/v1/deployments", spec(1, 1, "kind", "job"), &p); code != 400 || p.Errors[0].Field != "kind" {
		t.Errorf("a job on /v1/deployments: %d %+v", code, p)
	}
	// and /v1/jobs jobs: a deployment there is refused, pointing to its
	// route, as a job on /v1/deployments is.
	p = api.Problem{}
	if code := e.do("POST", "/v1/jobs", spec(1, 2, "kind", "deployment"), &p); code != 400 || len(p.Errors) != 1 ||
		p.Errors[0].Field != "kind" || !strings.Contains(p.Errors[0].Message, "/v1/deployments") {
		t.Errorf("a deployment on /v1/jobs: %d %+v; want 400 naming kind and /v1/deployments", code, p)
	}
	var j api.Job
	if code := e.do("POST", "/v1/deployments", spec(1, 2), &j); code != 201 || j.Kind != "deployment" || !strings.HasPrefix(j.ID, "j-") {
		t.Errorf("deployment: %d %+v", code, j)
	}
	if code := e.do("POST", "/v1/jobs", []byte(`{"tenant":"default","gpus":"two","command":["x"]}`), &p); code != 400 || p.Errors[0].Field != "gpus" {
		t.Errorf("gpus as a string: %d %+v", code, p)
	}
	if code := e.do("POST", "/v1/jobs", []byte(`{"id":"a b","tenant":"default","gpus":1,"command":["x"]}`), &p); code != 400 || p.Errors[0].Field != "id" {
		t.Errorf("id with a space: %d %+v", code, p)
	}
	if code := e.do("POST", "/v1/jobs", []byte(`"job"`), &p); code != 400 {
		t.Errorf("a string body: %d", code)
	}
	if code := e.do("POST", "/v1/jobs", spec(1, 1, "id", "mine"), &j); code != 201 || j.ID != "mine" {
		t.Errorf("own id: %d %s", code, j.ID)
	}
	if code := e.do("POST", "/v1/jobs", spec(1, 1, "id", "mine"), &p); code != 409 {
		t.Errorf("id again: %d", code)
	}
}

// A known path with another method is a 405 naming the methods it takes,
// HEAD with GET (the server answers HEAD wherever it answers GET, and
// RFC 9110 has Allow list every method the resource supports); an
// unknown path a 404; both problem documents.
func TestWrongMethodAndUnknownPath(t *testing.T) {
	e := devEnv(t)
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"DELETE", "/v1/jobs/x", 405, "GET, HEAD"},
		{"PUT", "/v1/jobs", 405, "POST, GET, HEAD"},
		{"GET", "/v1/secrets/x", 405, "PUT, DELETE"},
		{"GET", "/v1/nope", 404, ""},
	} {
		req := httptest.NewRequest(c.method, c.path, nil)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		if w.Code != c.status || w.Header().Get("Allow") != c.allow || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d Allow %q %s", c.method, c.path, w.Code, w.Header().Get("Allow"), w.Header().Get("Content-Type"))
		}
	}
	if code := e.do("HEAD", "/v1/jobs", nil, nil); code != http.StatusOK {
		t.Errorf("HEAD /v1/jobs: %d; want 200, as the Allow of GET /v1/jobs says", code)
	}
}

// A deadline the job cannot meet even if it started now is refused.
func TestSubmitDeadlineTooSoon(t *testing.T) {
	e := devEnv(t)
	now := e.clock.now()
	var p api.Problem
	if code := e.do("POST", "/v1/jobs", spec(1, 1, "runtime_limit", "2h", "deadline", now.Add(time.Hour).Format(time.RFC3339)), &p); code != 400 || p.Errors[0].Field != "deadline" {
		t.Errorf("deadline in 1 h for a 2 h job: %d %+v", code, p)
	}
	if code := e.do("POST", "/v1/jobs", spec(1, 1, "runtime_limit", "2h", "deadline", now.Add(3*time.Hour).Format(time.RFC3339)), nil); code != 201 {
		t.Errorf("deadline in 3 h for a 2 h job: %d", code)
	}
	var j api.Job
	if code := e.do("POST", "/v1/deployments", []byte(`{"tenant":"default","gpus":1,"kind":"deploym\u0065nt","command":["x"]}`), &j); code != 201 {
		t.Errorf("an escaped kind: %d", code)
	}
}

// The fair-share history survives a restart.
func TestFairShareSurvivesRestart(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(4, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	e.clock.add(time.Hour)
	e.report("n1", exited(id, 0, 1, 0))
	before := *e.s.usage["default"]
	if before.GPUSeconds != 4*3600 {
		t.Fatalf("usage %+v, want 14400 GPU-seconds", before)
	}
	e.clock.add(usageFlushEvery)
	e.pass() // saves it
	e.s.store.Close()
	e2 := openEnv(t, e.dir, DevFacility("local", "FR"), true, e.clock)
	if got := e2.s.usage["default"]; got == nil || *got != before {
		t.Fatalf("usage after a restart %+v, want %+v", got, before)
	}
}

// The agent learns its site's jurisdictions at registration and each
// task's, so that it can refuse what its site may not run.
func TestJurisdictionsReachTheAgent(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	var reg api.Registered
	body := api.Register{Name: "n1", Site: "local", CPUs: 8, MemoryGiB: 64, GPUs: []api.GPUInfo{{Index: 0, Model: "H100"}}}
	if code := e.do("POST", "/v1/agent/register", body, &reg); code != 200 || strings.Join(reg.Jurisdictions, ",") != "EU,FR" {
		t.Fatalf("register: %d %+v", code, reg)
	}
	e.submit(spec(1, 1, "jurisdictions", []string{"FR"}))
	e.pass()
	if tk := e.tasks("n1"); len(tk) != 1 || strings.Join(tk[0].Jurisdictions, ",") != "FR" {
		t.Fatalf("tasks %+v, want one limited to FR", tk)
	}
}

// The tenant's and the data class's jurisdictions reach the agent too, so
// that its check applies the whole rule the server placed by.
func TestTenantAndDataClassJurisdictionsReachTheAgent(t *testing.T) {
	f := DevFacility("local", "FR")
	f.Tenants[0].Jurisdictions = []string{"EU"}
	f.DataClasses = map[string][]string{"health": {"FR"}}
	e := newEnv(t, f, true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatal(code)
	}
	e.submit(spec(1, 1, "data_class", "health"))
	e.pass()
	tk := e.tasks("n1")
	if len(tk) != 1 || len(tk[0].Jurisdictions) != 0 || strings.Join(tk[0].TenantJurisdictions, ",") != "EU" ||
		strings.Join(tk[0].DataClassJurisdictions, ",") != "FR" {
		t.Fatalf("tasks %+v, want the job's (none), the tenant's (EU) and the data class's (FR) jurisdictions", tk)
	}
}

// why lists the sites the core may use: those carrying one of the
// tenant's, one of the job's and one of the data class's tags, not only
// the job's.
func TestWhyListsTheSitesEveryRuleAllows(t *testing.T) {
	f := DevFacility("s1", "FR")
	f.Sites[0].Jurisdictions = []string{"EU", "FR", "DE"}
	for _, s := range []struct{ id, country string }{{"s2", "DE"}, {"s3", "FR"}} {
		f.Sites = append(f.Sites, model.Site{ID: s.id, Name: s.id, Country: s.country,
			Jurisdictions: []string{"EU", s.country}, PowerEnvelopeKW: 100, PUE: 1.3})
		f.Halls = append(f.Halls, model.Hall{ID: s.id + "-hall", Site: s.id})
	}
	f.Tenants[0].Jurisdictions = []string{"FR"}
	f.DataClasses = map[string][]string{"health": {"DE"}}
	e := newEnv(t, f, true)
	for _, n := range []string{"s1", "s2", "s3"} {
		if code := e.register("n-"+n, n, 8); code != 200 {
			t.Fatalf("registering a node in %s: %d", n, code)
		}
	}
	for _, c := range []struct {
		extra []any
		want  string
	}{
		{nil, "s1,s3"}, // the tenant's FR
		{[]any{"jurisdictions", []string{"DE"}}, "s1"}, // DE and the tenant's FR: s1 only (s2 is DE, not FR)
		{[]any{"data_class", "health"}, "s1"},          // the class's DE and the tenant's FR
	} {
		id := e.submit(spec(1, 1, c.extra...))
		var why api.Why
		if code := e.do("GET", "/v1/jobs/"+id+"/why", nil, &why); code != 200 || strings.Join(why.Sites, ",") != c.want {
			t.Errorf("why of a job with %v: %d, sites %v, want %s", c.extra, code, why.Sites, c.want)
		}
	}
}

// A node that joined one site cannot move to another by registering again
// (nor say so in heartbeats, which carry no site); the attempt is recorded
// as an event, and so in the audit log.
func TestNodeCannotChangeSite(t *testing.T) {
	f := DevFacility("a", "FR")
	f.Sites = append(f.Sites, model.Site{ID: "b", Name: "b", Country: "US", Jurisdictions: []string{"US"}, PowerEnvelopeKW: 100, PUE: 1.3})
	f.Halls = append(f.Halls, model.Hall{ID: "b-hall", Site: "b"})
	e := newEnv(t, f, true)
	if code := e.register("n1", "a", 8); code != 200 {
		t.Fatal(code)
	}
	var p api.Problem
	reg := api.Register{Name: "n1", Site: "b", GPUs: []api.GPUInfo{{Index: 0, Model: "H100"}}}
	if code := e.do("POST", "/v1/agent/register", reg, &p); code != 403 || !strings.Contains(p.Detail, "site a") {
		t.Fatalf("n1 moving to site b: %d %+v", code, p)
	}
	var n api.Node
	e.do("GET", "/v1/nodes/n1", nil, &n)
	if n.Site != "a" {
		t.Errorf("n1 is in site %q after the refused move", n.Site)
	}
	var evs api.EventList
	e.do("GET", "/v1/events", nil, &evs)
	if last := evs.Events[len(evs.Events)-1]; last.Node != "n1" || !strings.Contains(last.Message, "refused") {
		t.Errorf("last event %+v, want the refusal", last)
	}
}

// /v1/tenants counts each tenant's pending and running jobs and GPUs.
func TestTenants(t *testing.T) {
	e := devEnv(t)
	e.submit(spec(6, 1, "id", "a"))
	e.submit(spec(6, 1, "id", "b"))
	e.pass()
	var tl api.TenantList
	e.do("GET", "/v1/tenants", nil, &tl)
	if len(tl.Tenants) != 1 || tl.Tenants[0].Pending != 1 || tl.Tenants[0].Running != 1 || tl.Tenants[0].GPUsUsed["H100"] != 6 {
		t.Errorf("tenants %+v, want default with 1 pending, 1 running on 6 H100", tl.Tenants)
	}
}

// The audit retention cannot go below 180 days without an override, and
// the override is recorded in the audit log with its reason.
func TestAuditRetentionOverride(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "carnot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := Config{Facility: DevFacility("local", "FR"), Store: db, TokenKey: testTokenKey, AuditRetention: 30 * 24 * time.Hour}
	if _, err := New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "180-day minimum") {
		t.Fatalf("30-day retention without an override: %v", err)
	}
	cfg.AuditRetentionOverride = "test cluster, no regulated work"
	if _, err := New(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != EventAuditPolicy || !strings.Contains(evs[0].Message, "test cluster, no regulated work") || evs[0].Actor != "server:config" {
		t.Errorf("events %+v, want the override recorded with its reason", evs)
	}
	cfg.AuditRetention, cfg.AuditRetentionOverride = 0, ""
	s, err := New(context.Background(), cfg)
	if err != nil || s.cfg.AuditRetention != MinAuditRetention {
		t.Errorf("default retention: %v, %v", s.cfg.AuditRetention, err)
	}
}
