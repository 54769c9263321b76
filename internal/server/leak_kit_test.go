package server

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// The kit of TestTenantViewsNameNoOtherTenant (leak_property_test.go): a
// server on a real store driven by hand, tenants that submit and read
// through the API with their own tokens, agents played by the test, and
// a scan of every answer for the names of other tenants and their jobs.

var (
	leakJobRE    = regexp.MustCompile(`jid-[a-z]+-[0-9]{4}`)
	leakTenantRE = regexp.MustCompile(`tnt-[a-z]+`)
)

// leakSites are the sites of the leak facility's nodes, node-1 first.
var leakSites = []string{"st-x", "st-x", "st-x", "st-y"}

// leakRun is one workload on one server (and its successor, after a
// restart).
type leakRun struct {
	t        *testing.T
	e        *env
	tenants  []string // of the facility of e
	rng      *rand.Rand
	owner    map[string]string // job ID → tenant
	cred     map[string]func(*http.Request) *http.Request
	admin    func(*http.Request) *http.Request
	nodes    []string
	n        int
	churn    bool              // running tasks end now and then
	reclaims int               // reclaim episodes so far
	seen     map[string]int    // form → instances operators saw
	across   map[string]int    // form → instances naming another tenant or its job
	leaks    map[string]string // tenant and place → what it read there
	// whys counts the why answers that sum up GPUs held by other
	// tenants' jobs ("others") and that name the tenant's own ("own").
	whys map[string]int
}

func newLeakRun(t *testing.T, seed uint64, fac *model.Facility) *leakRun {
	t.Helper()
	r := &leakRun{t: t, rng: rand.New(rand.NewPCG(seed, 0x1ea4)), owner: map[string]string{},
		seen: map[string]int{}, across: map[string]int{}, leaks: map[string]string{}, whys: map[string]int{}}
	r.use(newEnv(t, fac, true))
	for i, site := range leakSites {
		name := fmt.Sprintf("node-%d", i+1)
		if code := r.e.register(name, site, 8); code != http.StatusOK {
			t.Fatalf("register %s: %d", name, code)
		}
		r.nodes = append(r.nodes, name)
	}
	return r
}

// use drives e from now on, with tokens of its server, which keeps an
// audit log.
func (r *leakRun) use(e *env) {
	e.s.cfg.CA = testCA(r.t)
	signer, _ := auditKeys(r.t)
	a, err := newAuditor("carnot leak test", signer)
	if err != nil {
		r.t.Fatal(err)
	}
	e.s.audit = a
	r.e = e
	r.admin = withBearer(tokenFor(r.t, e.s, "operator-admin", ""))
	r.cred = map[string]func(*http.Request) *http.Request{}
	r.tenants = r.tenants[:0]
	for _, t := range e.s.fac.Tenants {
		r.tenants = append(r.tenants, t.Name)
	}
	for _, tn := range r.tenants {
		r.cred[tn] = withBearer(tokenFor(r.t, e.s, "tenant-admin", tn))
	}
}

// restart starts another server on the store with fac, as an operator
// who edited the facility file does; the test drives the old one no more.
// Its agents register again, running nothing.
func (r *leakRun) restart(fac *model.Facility) {
	r.e.s.store.Close()
	r.use(openEnv(r.t, r.e.dir, fac, true, r.e.clock))
	for i, name := range r.nodes {
		if code := r.e.register(name, leakSites[i], 8); code != http.StatusOK {
			r.t.Fatalf("register %s again: %d", name, code)
		}
	}
}

// short is the tenant's name in its jobs' IDs.
func short(tenant string) string { return strings.TrimPrefix(tenant, "tnt-") }

// pick is one of xs, drawn.
func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// job submits a job (a deployment with "kind") of tenant as that tenant,
// with the fields kv; it returns its ID, or "" when it was refused (a
// shape or class the facility does not allow: the refusal is scanned
// too).
func (r *leakRun) job(tenant string, kv ...any) string {
	r.n++
	id := fmt.Sprintf("jid-%s-%04d", short(tenant), r.n)
	spec := map[string]any{"id": id, "tenant": tenant, "command": []string{"train"}, "gpus": 1}
	for i := 0; i+1 < len(kv); i += 2 {
		spec[kv[i].(string)] = kv[i+1]
	}
	path := "/v1/jobs"
	if spec["kind"] == "deployment" {
		path = "/v1/deployments"
	}
	code, body := r.e.doWith(r.cred[tenant], "POST", path, spec, nil)
	if code == http.StatusCreated {
		r.owner[id] = tenant
	} else {
		id = ""
	}
	r.scan(tenant, "POST "+path, body)
	return id
}

// cancel cancels job id as its tenant.
func (r *leakRun) cancel(id string) {
	code, body := r.e.doWith(r.cred[r.owner[id]], "POST", "/v1/jobs/"+id+"/cancel", nil, nil)
	r.scan(r.owner[id], "POST /v1/jobs/{id}/cancel", body)
	if code != http.StatusOK && code != http.StatusAccepted && code != http.StatusConflict {
		r.t.Fatalf("cancel %s: %d %s", id, code, body)
	}
}

// agents plays every node's agent: a task told to stop ends (all, or
// each with even odds), a running one now and then (churn), the others
// report running.
func (r *leakRun) agents(allStop bool) {
	for _, node := range r.nodes {
		var sts []api.TaskStatus
		for _, tk := range r.e.tasks(node) {
			switch {
			case tk.Stop && (allStop || r.rng.IntN(2) == 0), !tk.Stop && r.churn && r.rng.IntN(10) == 0:
				sts = append(sts, exited(tk.Job, tk.Replica, tk.Attempt, 0))
			default:
				sts = append(sts, running(tk.Job, tk.Replica, tk.Attempt))
			}
		}
		r.e.report(node, sts...)
	}
}

// agentsEnd: the tasks of job id told to stop end, the others run on.
// A beneficiary of several victims then waits on the others while the
// GPUs of that one are claimed for it.
func (r *leakRun) agentsEnd(id string) {
	for _, node := range r.nodes {
		var sts []api.TaskStatus
		for _, tk := range r.e.tasks(node) {
			if tk.Stop && tk.Job == id {
				sts = append(sts, exited(tk.Job, tk.Replica, tk.Attempt, 0))
				continue
			}
			sts = append(sts, running(tk.Job, tk.Replica, tk.Attempt))
		}
		r.e.report(node, sts...)
	}
}

// step lets time pass (the agents report, as a node silent for longer
// than the heartbeat timeout would be taken for lost), runs a pass, and
// reads what operators and then each tenant see of it.
func (r *leakRun) step() { r.stepWith(func() { r.agents(false) }) }

// stepWith is step with agents played by agents.
func (r *leakRun) stepWith(agents func()) {
	r.e.clock.add(time.Duration(1+r.rng.IntN(5)) * time.Minute)
	agents()
	r.e.pass()
	r.observe()
	r.glance()
}

// active are the jobs and deployments not in a final state, sorted.
func (r *leakRun) active() []string {
	var ids []string
	r.e.s.mu.Lock()
	for id := range r.owner {
		if js := r.e.s.jobs[id]; js != nil && !api.Final(js.doc.State) {
			ids = append(ids, id)
		}
	}
	r.e.s.mu.Unlock()
	slices.Sort(ids)
	return ids
}

// clear ends an episode: each tenant cancels its work, the agents end
// it, until nothing is left.
func (r *leakRun) clear() {
	for range 5 {
		ids := r.active()
		if len(ids) == 0 {
			return
		}
		for _, id := range ids {
			r.cancel(id)
		}
		r.agents(true)
		r.e.pass()
		r.glance()
	}
	r.t.Fatalf("jobs %v still active after five rounds of cancelling", r.active())
}

// observe reads the last plan as an operator and counts the forms in
// its reasons and preemptions.
func (r *leakRun) observe() {
	var p api.Plan
	if code, body := r.e.doWith(r.admin, "GET", "/v1/plan", nil, &p); code != http.StatusOK {
		r.t.Fatalf("GET /v1/plan as an operator: %d %s", code, body)
	}
	for _, pe := range p.Pending {
		r.count(r.owner[pe.Job], pe.Message)
	}
	for _, pr := range p.Preemptions {
		r.count(r.owner[pr.Victim], pr.Reason)
	}
}

// observeEvents counts the forms in the facility-wide preempt events (an
// operator's), as the victim's tenant would read them, and in the events
// a start records on jobs (actor server:config), as their tenants would.
func (r *leakRun) observeEvents() {
	for after := int64(0); ; {
		var page api.EventList
		if code, body := r.e.doWith(r.admin, "GET", fmt.Sprintf("/v1/events?after=%d&limit=500", after), nil, &page); code != http.StatusOK {
			r.t.Fatalf("events as an operator: %d %s", code, body)
		}
		if len(page.Events) == 0 {
			return
		}
		for _, ev := range page.Events {
			if ev.Tenant == "" && ev.Type == api.EventPreempt {
				// "job V of tenant A preempted for …": as V's tenant reads it
				r.count(r.owner[leakJobRE.FindString(ev.Message)], ev.Message)
			}
			if ev.Job != "" && ev.Actor == actorConfig {
				r.count(r.owner[ev.Job], ev.Message)
			}
		}
		after = page.Events[len(page.Events)-1].Seq
	}
}

// count notes the forms msg holds, about a job of tenant: across when
// what the form names is another tenant or another tenant's job.
func (r *leakRun) count(tenant, msg string) {
	for _, f := range leakForms {
		m := f.re.FindString(msg)
		if m == "" {
			continue
		}
		r.seen[f.name]++
		if r.foreign(tenant, m) != "" {
			r.across[f.name]++
		}
	}
}

// foreign is the first job ID of another tenant than tenant, or name of
// another tenant, in text ("" when there is none).
func (r *leakRun) foreign(tenant, text string) string {
	for _, id := range leakJobRE.FindAllString(text, -1) {
		if r.owner[id] != tenant {
			return id
		}
	}
	for _, tn := range leakTenantRE.FindAllString(text, -1) {
		if tn != tenant {
			return tn
		}
	}
	return ""
}

// scan records what of other tenants body shows to tenant, once per
// tenant and place.
func (r *leakRun) scan(tenant, where string, body []byte) {
	s := string(body)
	name := r.foreign(tenant, s)
	if name == "" {
		return
	}
	key := tenant + " " + where
	if _, ok := r.leaks[key]; ok {
		return
	}
	i := strings.Index(s, name)
	from, to := max(0, i-200), min(len(s), i+len(name)+100)
	r.leaks[key] = fmt.Sprintf("%s reads %s in %s: …%s…", tenant, name, where, s[from:to])
}

// read GETs path as tenant and scans the answer.
func (r *leakRun) read(tenant, path string, out any) int {
	code, body := r.e.doWith(r.cred[tenant], "GET", path, nil, out)
	where, _, _ := strings.Cut(path, "?")
	r.scan(tenant, "GET "+leakJobRE.ReplaceAllString(where, "{id}"), body)
	var why api.Why
	if strings.HasSuffix(where, "/why") && json.Unmarshal(body, &why) == nil && why.GPUs != nil {
		if why.GPUs.Others.Jobs > 0 {
			r.whys["others"]++
		}
		if len(why.GPUs.Own) > 0 {
			r.whys["own"]++
		}
	}
	return code
}

// glance reads what each tenant sees of its unfinished work after a
// pass: the reasons live in memory, and the next pass writes others
// (sweep reads the finished work).
func (r *leakRun) glance() {
	const q = "?limit=1000&state=pending,running,preempting,cancelling"
	for _, tn := range r.tenants {
		r.read(tn, "/v1/jobs"+q, nil)
		r.read(tn, "/v1/deployments"+q, nil)
	}
	for _, id := range r.active() {
		if tn := r.owner[id]; r.cred[tn] != nil && r.rng.IntN(3) == 0 {
			r.read(tn, "/v1/jobs/"+id+"/why", nil)
		}
	}
}

// leakReads are the operations of the routes a tenant reads its own
// things through: the sweep wants them answered.
var leakReads = map[string]bool{"listJobs": true, "getJob": true, "jobEvents": true, "whyJob": true, "listDeployments": true,
	"listTenants": true, "usage": true, "listEvents": true, "auditEntries": true, "listTokens": true}

// sweep reads, as each tenant, every GET route a tenant may call (those
// of one thing for each of its jobs), and every page of its events.
func (r *leakRun) sweep() {
	for _, tn := range r.tenants {
		var mine []string
		for id, o := range r.owner {
			if o == tn {
				mine = append(mine, id)
			}
		}
		slices.Sort(mine)
		for _, rt := range api.Routes {
			if rt.Method != "GET" || strings.HasPrefix(rt.Path, "/v1/agent/") || rt.Op == "jobLogs" || rt.Op == "watch" {
				continue
			}
			paths := []string{rt.Path}
			if strings.Contains(rt.Path, "{") {
				paths = paths[:0]
				for _, id := range mine {
					paths = append(paths, strings.Replace(rt.Path, "{id}", id, 1))
				}
			}
			for _, p := range paths {
				if code := r.read(tn, p, nil); leakReads[rt.Op] && code != http.StatusOK {
					r.t.Errorf("GET %s as %s: %d; the sweep reads nothing there", p, tn, code)
				}
			}
		}
		for _, q := range []string{"/v1/audit/entries?tenant=" + tn, "/v1/usage?tenant=" + tn, "/v1/jobs?tenant=" + tn + "&limit=1000"} {
			r.read(tn, q, nil)
		}
		for after := int64(0); ; {
			var page api.EventList
			if code := r.read(tn, fmt.Sprintf("/v1/events?after=%d&limit=20", after), &page); code != http.StatusOK {
				r.t.Fatalf("events of %s after %d: %d", tn, after, code)
			}
			if len(page.Events) == 0 {
				break
			}
			after = page.Events[len(page.Events)-1].Seq
		}
	}
}

// watchAll opens a watch stream of each tenant from its first event;
// drain submits a last job of each tenant and reads its stream up to
// that job's submission, scanning every event.
func (r *leakRun) watchAll(hs *httptest.Server) (drain func()) {
	evs := map[string]<-chan api.Event{}
	stops := map[string]func(){}
	for _, tn := range r.tenants {
		evs[tn], stops[tn] = openStream(r.t, hs, "?after=0", "Authorization", "Bearer "+tokenFor(r.t, r.e.s, "tenant-admin", tn))
	}
	return func() {
		for _, tn := range r.tenants {
			id := r.job(tn, "command", []string{"last"})
			n := 0
			for done := false; !done; {
				select {
				case ev, ok := <-evs[tn]:
					if !ok {
						r.t.Fatalf("the watch stream of %s ended before its last submission", tn)
					}
					n++
					r.scan(tn, "GET /v1/watch", fmt.Appendf(nil, "%s %s %s %s %s %s", ev.Job, ev.Tenant, ev.Node, ev.Type, ev.Message, ev.Actor))
					done = ev.Job == id && ev.Type == api.EventSubmitted
				case <-time.After(30 * time.Second):
					r.t.Fatalf("the watch stream of %s had not carried its last submission after 30 s", tn)
				}
			}
			stops[tn]()
			if n < 10 {
				r.t.Errorf("the watch stream of %s carried %d events; want many", tn, n)
			}
		}
	}
}
