package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// fakeServer mimics the API's routes with canned values and records the
// requests it gets.
type fakeServer struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
	// jobs is what GET /v1/jobs and /v1/jobs/{id} serve; states, when
	// set, is the successive states GET /v1/jobs/{id} reports.
	jobs   []api.Job
	states []string
	// submitFail, when > 0, makes that submission (from 1) fail.
	submitFail int
}

type recorded struct {
	method, path, query, key string
	body                     []byte
}

func newFake(t *testing.T) *fakeServer {
	f := &fakeServer{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs", f.submit)
	mux.HandleFunc("POST /v1/deployments", f.submit)
	mux.HandleFunc("GET /v1/jobs", f.list)
	mux.HandleFunc("GET /v1/jobs/{id}", f.get)
	mux.HandleFunc("GET /v1/jobs/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.EventList{Events: []api.Event{
			{Seq: 1, Time: time.Now().Add(-5 * time.Minute), Job: r.PathValue("id"), Type: api.EventSubmitted, Message: "submitted by lab-a"},
			{Seq: 2, Time: time.Now().Add(-3 * time.Minute), Job: r.PathValue("id"), Type: api.EventStarted, Message: "placed on n1, n2"},
		}})
	})
	mux.HandleFunc("GET /v1/jobs/{id}/why", func(w http.ResponseWriter, r *http.Request) {
		est := time.Now().Add(20 * time.Minute)
		reply(w, 200, api.Why{Job: r.PathValue("id"), State: api.StatePending, Message: "waiting",
			Reason:   &api.Reason{Code: "quota", Message: "quota of tenant lab-a exhausted, 64/64 H100 in use"},
			EstStart: &est, Jurisdictions: []string{"EU"}, Sites: []string{"paris", "lyon"},
			GPUs: &api.WhyGPUs{Models: []string{"H100"}, Total: 64, Own: []api.WhyHolder{{Job: "a", GPUs: 8}}, OwnGPUs: 8,
				Others: api.WhyOthers{Jobs: 7, GPUs: 56, FirstEnd: &est}}})
	})
	mux.HandleFunc("GET /v1/jobs/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		const out = "step 1 loss 2.3\nstep 2 loss 1.9\n"
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		_, _ = io.WriteString(w, out[min(off, len(out)):])
	})
	mux.HandleFunc("POST /v1/tokens/{id}/revoke", func(w http.ResponseWriter, r *http.Request) {
		problem(w, 404, fmt.Sprintf("no token %q", r.PathValue("id")))
	})
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "nope" {
			problem(w, 404, `no job "nope"`)
			return
		}
		reply(w, 200, api.Job{ID: r.PathValue("id"), State: api.StateCancelling})
	})
	mux.HandleFunc("GET /v1/nodes", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.NodeList{Nodes: []api.Node{
			{Name: "n1", Site: "paris", Condition: api.NodeReady, GPUModel: "H100", GPUs: 8, GPUsUsed: 8, CPUs: 112, MemoryGiB: 2048,
				LastHeartbeat: time.Now().Add(-2 * time.Second), Jobs: []string{"a"}},
			{Name: "n2", Site: "paris", Condition: api.NodeDraining, Drained: true, GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048,
				LastHeartbeat: time.Now().Add(-3 * time.Second)},
		}})
	})
	mux.HandleFunc("POST /v1/nodes/{name}/drain", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Node{Name: r.PathValue("name"), Condition: api.NodeDraining, Drained: true, GPUs: 8, GPUsUsed: 8})
	})
	mux.HandleFunc("POST /v1/nodes/{name}/undrain", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Node{Name: r.PathValue("name"), Condition: api.NodeReady, GPUs: 8})
	})
	mux.HandleFunc("GET /v1/usage", func(w http.ResponseWriter, r *http.Request) {
		a := api.Usage{GPUSeconds: 36000, KWh: 12.5, EUR: 1.25, GCO2e: 700}
		b := api.Usage{GPUSeconds: 7200, KWh: 2.5, EUR: 0.25, GCO2e: 300, UnpricedKWh: 0.75}
		tot := a
		tot.Add(b)
		reply(w, 200, api.UsageList{Tenants: []api.TenantUsage{{Tenant: "lab-a", Jobs: 3, Usage: a}, {Tenant: "lab-b", Jobs: 1, Usage: b}}, Total: tot})
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get(api.IdempotencyKeyHeader), body})
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, detail string, errs ...api.FieldError) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Problem{Type: api.ProblemType + "x", Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs})
}

func (f *fakeServer) submit(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := 0
	for _, q := range f.reqs {
		if q.method == http.MethodPost && (q.path == "/v1/jobs" || q.path == "/v1/deployments") {
			n++
		}
	}
	f.mu.Unlock()
	if n == f.submitFail {
		problem(w, 422, "the job is invalid", api.FieldError{Field: "tenant", Message: `unknown tenant "nobody"`})
		return
	}
	var spec struct {
		ID     string `json:"id"`
		Kind   string `json:"kind"`
		Tenant string `json:"tenant"`
	}
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &spec)
	if spec.ID == "" {
		spec.ID = "j1"
	}
	reply(w, 201, api.Job{ID: spec.ID, Kind: spec.Kind, Tenant: spec.Tenant, State: api.StatePending, Spec: body, SubmitTime: time.Now()})
}

func (f *fakeServer) list(w http.ResponseWriter, r *http.Request) {
	// Two pages: the first job, then the rest.
	if r.URL.Query().Get("after") == "" && len(f.jobs) > 1 {
		reply(w, 200, api.JobList{Jobs: f.jobs[:1], Next: f.jobs[0].ID})
		return
	}
	reply(w, 200, api.JobList{Jobs: f.jobs[min(1, len(f.jobs)):]})
}

func (f *fakeServer) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.jobs {
		if j.ID != r.PathValue("id") {
			continue
		}
		if len(f.states) > 0 {
			j.State = f.states[0]
			if len(f.states) > 1 {
				f.states = f.states[1:]
			}
			if j.State == api.StatePending {
				j.Replicas = nil
			}
		}
		reply(w, 200, j)
		return
	}
	problem(w, 404, "no job "+r.PathValue("id"))
}

func (f *fakeServer) requests(method, path string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, q := range f.reqs {
		if q.method == method && q.path == path {
			out = append(out, q)
		}
	}
	return out
}

// carnot runs the CLI.
func carnot(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// sampleJobs is a running gang and a pending job.
func sampleJobs() []api.Job {
	now := time.Now()
	start := now.Add(-3 * time.Minute)
	zero, cpu := 0, 74.6
	return []api.Job{
		{ID: "a", Kind: "job", Tenant: "lab-a", PriorityClass: "normal", State: api.StateRunning,
			Spec:       json.RawMessage(`{"id":"a","tenant":"lab-a","replicas":4,"gpus":8,"gpu_model":["H100"],"runtime_limit":7200,"command":["torchrun","train.py"],"workdir":"/home/a","env":{"B":"2","A":"1"},"restart":"on-failure","max_retries":2}`),
			SubmitTime: now.Add(-5 * time.Minute), StartTime: &start, Attempt: 1, Message: "running on 2 nodes",
			Replicas: []api.Replica{
				{Index: 0, Node: "n1", GPUs: []int{0, 1, 2, 3, 4, 5, 6, 7}, State: api.ReplicaRunning, PID: 4242, StartedAt: &start},
				{Index: 1, Rank: 1, Node: "n1", GPUs: []int{0, 1}, State: api.ReplicaRunning, PID: 4243, StartedAt: &start},
				{Index: 2, Rank: 2, Node: "n2", GPUs: []int{0}, State: api.ReplicaExited, ExitCode: &zero, StartedAt: &start, CPUSeconds: &cpu},
				{Index: 3, Rank: 3, Node: "n2", GPUs: []int{1}, State: api.ReplicaRunning, PID: 17, StartedAt: &start},
			},
			Usage: api.Usage{GPUSeconds: 5760, KWh: 3.25, EUR: 0.42, GCO2e: 180}},
		{ID: "b", Kind: "job", Tenant: "lab-b", State: api.StatePending, Spec: json.RawMessage(`{"replicas":1,"gpus":2}`),
			SubmitTime: now.Add(-90 * time.Second), Message: "waiting",
			Reason: &api.Reason{Code: "quota", Message: "quota of tenant lab-b exhausted, 16/16 H100 in use"}},
	}
}

func TestRunBuildsSpec(t *testing.T) {
	f := newFake(t)
	cwd, _ := os.Getwd()
	code, out, errs := carnot("run", "--server", f.srv.URL, "--gpus", "8", "--replicas", "4", "--tenant", "lab-a",
		"--env", "A=1", "--env", "B=x=y", "--runtime-limit", "90m", "--checkpoint-grace", "2m", "--restart", "on-failure",
		"--max-retries", "3", "--preemptible=false", "--jurisdiction", "EU", "--jurisdiction", "FR", "--gpu-model", "H100,H200",
		"--priority-class", "high", "--cpus", "16", "--memory-gib", "256",
		"--", "torchrun", "train.py", "--lr", "3e-4")
	if code != 0 || out != "j1\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	reqs := f.requests("POST", "/v1/jobs")
	if len(reqs) != 1 {
		t.Fatalf("%d submissions", len(reqs))
	}
	var got map[string]any
	if err := json.Unmarshal(reqs[0].body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"tenant": "lab-a", "priority_class": "high", "replicas": 4.0, "gpus": 8.0, "gpu_model": []any{"H100", "H200"},
		"cpus": 16.0, "memory_gib": 256.0, "preemptible": false, "checkpoint_grace": 120.0, "runtime_limit": 5400.0,
		"jurisdictions": []any{"EU", "FR"}, "command": []any{"torchrun", "train.py", "--lr", "3e-4"},
		"env": map[string]any{"A": "1", "B": "x=y"}, "workdir": cwd, "restart": "on-failure", "max_retries": 3.0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(reqs[0].key) {
		t.Errorf("Idempotency-Key %q: want 32 random hex digits", reqs[0].key)
	}
}

// TestRunMinimal: unset flags are left out (--tenant too: the server
// fills in the token's tenant); flags after COMMAND are the
// command's; a deployment goes to /v1/deployments.
func TestRunMinimal(t *testing.T) {
	f := newFake(t)
	cwd, _ := os.Getwd()
	code, _, errs := carnot("run", "--server", f.srv.URL, "--idempotency-key", "k-1", "python", "x.py", "--gpus", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := f.requests("POST", "/v1/jobs")[0]
	want := `{"gpus":0,"command":["python","x.py","--gpus","3"],"workdir":` + jsonString(cwd) + `}`
	if string(r.body) != want || r.key != "k-1" {
		t.Errorf("body %s key %q\nwant %s key k-1", r.body, r.key, want)
	}
	code, out, errs := carnot("run", "--server", f.srv.URL, "--kind", "deployment", "--workdir", "/srv", "-o", "json", "vllm", "serve")
	if code != 0 {
		t.Fatalf("deployment: exit %d: %s", code, errs)
	}
	d := f.requests("POST", "/v1/deployments")
	if len(d) != 1 || !strings.Contains(string(d[0].body), `"kind":"deployment"`) || !strings.Contains(string(d[0].body), `"workdir":"/srv"`) {
		t.Errorf("deployment submissions %+v", d)
	}
	var j api.Job
	if err := json.Unmarshal([]byte(out), &j); err != nil || j.ID != "j1" {
		t.Errorf("-o json: %v, %q", err, out)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--restart", "always", "x"},
		{"run", "--runtime-limit", "soon", "x"},
		{"run", "--env", "=v", "x"},
		{"run", "--env", "A=1", "--env", "A=2", "x"}, // which one was meant?
		{"run", "--kind", "batch", "x"},
		{"run", "-o", "xml", "x"},
		{"run"},
	} {
		if code, _, errs := carnot(append(args, "--server", "127.0.0.1:1")...); code != ExitUsage {
			t.Errorf("carnot %v: exit %d (%s), want %d", args, code, errs, ExitUsage)
		}
	}
}

func TestRunFollow(t *testing.T) {
	defer func(d time.Duration) { pollInterval = d }(pollInterval)
	pollInterval = time.Millisecond
	for _, tc := range []struct {
		final string
		code  int
		msg   string
	}{
		{api.StateSucceeded, 0, ""},
		// the job's exit code passes on, as srun's does
		{api.StateFailed, 3, "error: job a failed: exit 3 (exit code 3)"},
		// and is not said twice ("exited with code 3 (exit code 3)")
		{api.StateFailed, 3, "error: job a failed: replica 0 exited with code 3\n"},
	} {
		f := newFake(t)
		f.jobs = sampleJobs()[:1]
		f.jobs[0].Message = "exit 3"
		if strings.Contains(tc.msg, "exited with") {
			f.jobs[0].Message = "replica 0 exited with code 3"
		}
		if tc.final == api.StateFailed {
			three := 3
			f.jobs[0].ExitCode = &three
		}
		f.states = []string{api.StatePending, api.StatePending, api.StateRunning, tc.final}
		code, out, errs := carnot("run", "--server", f.srv.URL, "--id", "a", "--tenant", "lab-a", "-f", "train")
		if code != tc.code || out != "step 1 loss 2.3\nstep 2 loss 1.9\n" || !strings.Contains(errs, tc.msg) ||
			!strings.Contains(errs, "submitted a\n") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", tc.final, code, out, errs)
		}
		// followed while it runs; once final, what came after the stream
		// ended (nothing here)
		if logs := f.requests("GET", "/v1/jobs/a/logs"); len(logs) != 2 || logs[0].query != "attempt=1&follow=true&replica=0" ||
			logs[1].query != "attempt=1&offset=32&replica=0" {
			t.Errorf("%s: log requests %+v", tc.final, logs)
		}
	}
}

func TestSubmitLocalErrorSendsNothing(t *testing.T) {
	f := newFake(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	writeTestFile(t, good, "{id: a, tenant: lab-a, gpus: 1, command: [x]}\n")
	writeTestFile(t, bad, "- id: b\n  tenant: lab-a\n  gpu: 2\n")
	bad2 := filepath.Join(dir, "bad2.yaml")
	writeTestFile(t, bad2, "- {id: c, tenant: lab-a, gpus: 1}\n")
	code, _, errs := carnot("submit", "--server", f.srv.URL, "-f", good, "-f", bad, "-f", bad2)
	// every file's mistakes at once, not the first file's alone
	if code != ExitFailure || !strings.Contains(errs, bad+":3: jobs[0].gpu: unknown field") ||
		!strings.Contains(errs, bad2+":1: jobs[0].command: is required to submit") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if len(f.reqs) != 0 {
		t.Errorf("the server got %d requests", len(f.reqs))
	}
}

// A job the server would refuse whatever the facility (no command, no
// resources) stops the submission before anything is sent, with its line,
// not after the jobs above it.
func TestSubmitRunnableCheckedLocally(t *testing.T) {
	f := newFake(t)
	path := filepath.Join(t.TempDir(), "jobs.yaml")
	writeTestFile(t, path, "- {id: a, tenant: lab-a, gpus: 1, command: [x]}\n- {id: b, tenant: lab-a, gpus: 1}\n- {id: c, tenant: lab-a, gpus: 0, command: [x]}\n")
	code, out, errs := carnot("submit", "--server", f.srv.URL, "-f", path)
	want := "error: " + path + ":2: jobs[1].command: is required to submit: the argv the node agent runs, e.g. [python, train.py]\n" +
		path + ":3: jobs[2].gpus: a replica must ask for GPUs, CPUs or memory: give gpus, cpus or memory_gib\n"
	if code != ExitFailure || errs != want || out != "" {
		t.Errorf("exit %d, stdout %q\nstderr %q\nwant   %q", code, out, errs, want)
	}
	if len(f.reqs) != 0 {
		t.Errorf("the server got %d requests", len(f.reqs))
	}
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSubmitFiles(t *testing.T) {
	f := newFake(t)
	dir := t.TempDir()
	y := filepath.Join(dir, "train.yaml")
	l := filepath.Join(dir, "serve.jsonl")
	writeTestFile(t, y, "- {tenant: lab-a, gpus: 1, command: [python, a.py]}\n- id: b\n  tenant: lab-a\n  gpus: 2\n  preemptible: false\n  priority_class: high\n  command: [b]\n")
	writeTestFile(t, l, `{"id":"s","kind":"deployment","tenant":"lab-b","replicas":2,"gpus":1,"submit_time":1767228038,"command":["s"]}`+"\n")
	code, out, errs := carnot("submit", "--server", f.srv.URL, "-f", y, "-f", l)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	wantOut := "submitted job train-1 (pending)\nsubmitted job b (pending)\nsubmitted deployment s (pending)\n"
	if out != wantOut {
		t.Errorf("stdout %q, want %q", out, wantOut)
	}
	jobs, deps := f.requests("POST", "/v1/jobs"), f.requests("POST", "/v1/deployments")
	if len(jobs) != 2 || len(deps) != 1 {
		t.Fatalf("%d jobs, %d deployments submitted", len(jobs), len(deps))
	}
	if strings.Contains(string(deps[0].body), "preemptible") || strings.Contains(string(deps[0].body), "priority_class") {
		t.Errorf("JSON Lines deployment %s: want neither preemptible nor priority_class, which its line does not set", deps[0].body)
	}
	if strings.Contains(string(deps[0].body), "submit_time") || errs != "warning: "+l+": submit_time of 1 jobs ignored: the server records when it accepts each job\n" {
		t.Errorf("submit_time: body %s, stderr %q", deps[0].body, errs)
	}
	var first, second map[string]any
	_ = json.Unmarshal(jobs[0].body, &first)
	_ = json.Unmarshal(jobs[1].body, &second)
	if _, ok := first["preemptible"]; ok || first["priority_class"] != nil || first["id"] != "train-1" {
		t.Errorf("first job %s: want an ID and neither preemptible nor priority_class", jobs[0].body)
	}
	if second["preemptible"] != false || second["priority_class"] != "high" {
		t.Errorf("second job %s: want preemptible and priority_class as written", jobs[1].body)
	}
	keys := []string{jobs[0].key, jobs[1].key, deps[0].key}
	if keys[0] == keys[1] || keys[1] == keys[2] || !strings.HasSuffix(keys[2], "-2") ||
		strings.TrimSuffix(keys[0], "-0") != strings.TrimSuffix(keys[2], "-2") {
		t.Errorf("keys %q: want one per job, from one invocation key", keys)
	}

	f2 := newFake(t)
	f2.submitFail = 2
	code, out, errs = carnot("submit", "--server", f2.srv.URL, "-f", y, "-f", l)
	wantErr := "warning: " + l + ": submit_time of 1 jobs ignored: the server records when it accepts each job\n" +
		"error: " + y + ":2: b (job 2 of the file): the job is invalid\n  " + y + ":3: tenant: unknown tenant \"nobody\"\n1 job was submitted before it: train-1\n"
	if code != ExitFailure || errs != wantErr || out != "submitted job train-1 (pending)\n" {
		t.Errorf("exit %d, stdout %q, stderr %q\nwant stderr %q", code, out, errs, wantErr)
	}
}

// A running deployment's NODES are those its replicas hold: a replaced
// replica, released, stays in its record but no longer holds its node
// (before, the column named nodes the deployment had left).
func TestJobsNodesOfADeploymentAreThoseItHolds(t *testing.T) {
	f := newFake(t)
	start := time.Now().Add(-time.Hour)
	one := 1
	f.jobs = []api.Job{{ID: "d", Kind: "deployment", Tenant: "lab-a", State: api.StateRunning,
		Spec: json.RawMessage(`{"replicas":2,"gpus":1}`), SubmitTime: start, StartTime: &start, Attempt: 1,
		Replicas: []api.Replica{
			{Index: 0, Node: "n1", GPUs: []int{0}, State: api.ReplicaRunning, StartedAt: &start},
			{Index: 1, Rank: 1, Node: "n3", GPUs: []int{0}, State: api.ReplicaExited, ExitCode: &one, StartedAt: &start, Released: true},
			{Index: 2, Rank: 1, Node: "n2", GPUs: []int{0}, State: api.ReplicaRunning, StartedAt: &start},
		}}, sampleJobs()[1]} // the fake serves the first job alone, then the rest
	code, out, errs := carnot("jobs", "--server", f.srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if lines := strings.Split(out, "\n"); len(lines) < 2 || !strings.Contains(lines[1], " n1,n2 ") || strings.Contains(lines[1], "n3") {
		t.Errorf("jobs table (stderr %q):\n%s\nwant the deployment's NODES n1,n2, not the n3 it left", errs, out)
	}
}

func TestJobsOutput(t *testing.T) {
	f := newFake(t)
	f.jobs = sampleJobs()
	code, out, errs := carnot("jobs", "--server", f.srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "ID  TENANT  STATE    GPUS  AGE  NODES  REASON/MESSAGE\n" +
		"a   lab-a   running  4×8   5m   n1,n2  running on 2 nodes\n" +
		"b   lab-b   pending  1×2   1m   -      quota of tenant lab-b exhausted, 16/16 H100 in use\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	lists := f.requests("GET", "/v1/jobs")
	if len(lists) != 2 || lists[0].query != "state=pending%2Crunning%2Cpreempting%2Ccancelling" ||
		lists[1].query != "after=a&state=pending%2Crunning%2Cpreempting%2Ccancelling" {
		t.Errorf("list requests %+v", lists)
	}

	code, out, _ = carnot("jobs", "--server", f.srv.URL, "--all", "--tenant", "lab-a", "-o", "json")
	var l api.JobList
	if err := json.Unmarshal([]byte(out), &l); code != 0 || err != nil || len(l.Jobs) != 2 || l.Jobs[0].ID != "a" {
		t.Errorf("-o json: exit %d, %v, %q", code, err, out)
	}
	if q := f.requests("GET", "/v1/jobs")[2].query; q != "tenant=lab-a" {
		t.Errorf("--all --tenant lab-a: query %q", q)
	}
	code, out, _ = carnot("jobs", "--server", f.srv.URL, "-o", "yaml", "--limit", "1")
	if code != 0 || !strings.HasPrefix(out, "jobs:\n- id: a\n  kind: job\n  tenant: lab-a\n") || strings.Contains(out, "id: b") {
		t.Errorf("-o yaml --limit 1: exit %d, %q", code, out)
	}
	if code, _, errs := carnot("jobs", "--server", f.srv.URL, "--state", "sleeping"); code != ExitUsage {
		t.Errorf("--state sleeping: exit %d, %s", code, errs)
	}
	// as --state: a kind the server has not (a plural, a capital) listed
	// nothing, as if no job were of it
	if code, _, errs := carnot("jobs", "--server", f.srv.URL, "--kind", "deployments"); code != ExitUsage || !strings.Contains(errs, "--kind") {
		t.Errorf("--kind deployments: exit %d, %s", code, errs)
	}
}

func TestDescribe(t *testing.T) {
	f := newFake(t)
	f.jobs = sampleJobs()
	code, out, errs := carnot("describe", "--server", f.srv.URL, "a")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"ID:              a\n",
		"State:           running (attempt 1)\n",
		"Resources:       4 × 8 GPUs (H100) per replica\n",
		"Command:         torchrun train.py\n",
		"Workdir:         /home/a\n",
		"Env:             A=1 B=2\n",
		"Restart:         on-failure (at most 2 retries)\n",
		"Runtime limit:   2h\n",
		"Usage:           1.6 GPU-h, 3.25 kWh (facility), 0.42 EUR, 180 gCO2e\n",
		"  REPLICA  RANK  NODE  GPUS             PID   STATE    EXIT  CPU    STARTED  ERROR\n",
		"  0        0     n1    0,1,2,3,4,5,6,7  4242  running  -     -      3m ago   -\n",
		"  2        2     n2    0                -     exited   0     1m15s  3m ago   -\n",
		"  5m ago  submitted  submitted by lab-a\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = carnot("describe", "--server", f.srv.URL, "-o", "json", "a")
	var d struct {
		ID     string      `json:"id"`
		Events []api.Event `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &d); code != 0 || err != nil || d.ID != "a" || len(d.Events) != 2 {
		t.Errorf("-o json: %v %+v", err, d)
	}
	code, _, errs = carnot("describe", "--server", f.srv.URL, "zzz")
	if code != ExitFailure || errs != "error: no job zzz\n" {
		t.Errorf("unknown job: exit %d, %q", code, errs)
	}
}

func TestWhy(t *testing.T) {
	f := newFake(t)
	code, out, errs := carnot("why", "--server", f.srv.URL, "b")
	if code != 0 || !strings.HasPrefix(out, "b is pending: quota of tenant lab-a exhausted, 64/64 H100 in use [quota]\n  waiting\nestimated start: ") ||
		!strings.Contains(out, "(in 20m)\n") || !strings.HasSuffix(out, "jurisdictions: EU\nsites: paris, lyon\nGPUs it may use: 64 H100 on paris, lyon, 0 free\n"+
		"  your job holds 8 (a: 8, no runtime limit); 7 jobs of other tenants hold 56, the first expected to end in 20m\n") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestLogsCopiesBody(t *testing.T) {
	f := newFake(t)
	f.jobs = sampleJobs()[:1]
	f.states = []string{api.StateRunning, api.StateSucceeded}
	code, out, errs := carnot("logs", "--server", f.srv.URL, "-f", "--replica", "2", "--stderr", "a")
	if code != 0 || out != "step 1 loss 2.3\nstep 2 loss 1.9\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// -f follows the current attempt; when the stream ends and the job
	// is final, what came after it (nothing here)
	if r := f.requests("GET", "/v1/jobs/a/logs"); len(r) != 2 || r[0].query != "attempt=1&follow=true&replica=2&stream=stderr" ||
		r[1].query != "attempt=1&offset=32&replica=2&stream=stderr" {
		t.Errorf("requests %+v", r)
	}
	code, out, errs = carnot("logs", "--server", f.srv.URL, "a")
	if code != 0 || out != "step 1 loss 2.3\nstep 2 loss 1.9\n" {
		t.Errorf("without -f: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if r := f.requests("GET", "/v1/jobs/a/logs"); len(r) != 3 || r[2].query != "replica=0" {
		t.Errorf("without -f: requests %+v", r)
	}
}

func TestCancelNodesUsage(t *testing.T) {
	f := newFake(t)
	code, out, errs := carnot("cancel", "--server", f.srv.URL, "a", "nope", "b")
	if code != ExitFailure || out != "a cancelling\nb cancelling\n" ||
		errs != "nope: no job \"nope\"\nerror: 1 of 3 jobs could not be cancelled\n" {
		t.Errorf("cancel: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _ = carnot("nodes", "--server", f.srv.URL)
	want := "NAME  SITE   CONDITION  GPUS  MODEL  CPUS  MEMORY  HEARTBEAT  JOBS\n" +
		"n1    paris  ready      8/8   H100   112   2048Gi  2s ago     a\n" +
		"n2    paris  draining   0/8   H100   112   2048Gi  3s ago     -\n"
	if code != 0 || out != want {
		t.Errorf("nodes: exit %d\n%s\nwant\n%s", code, out, want)
	}
	code, out, _ = carnot("drain", "--server", f.srv.URL, "n1")
	if code != 0 || out != "node n1 drained (draining, 8/8 GPUs in use)\n" {
		t.Errorf("drain: exit %d, %q", code, out)
	}
	code, out, _ = carnot("undrain", "--server", f.srv.URL, "n2")
	if code != 0 || out != "node n2 undrained (ready, 0/8 GPUs in use)\n" {
		t.Errorf("undrain: exit %d, %q", code, out)
	}
	code, out, errs = carnot("usage", "--server", f.srv.URL)
	want = "TENANT  JOBS  GPU-H  KWH   EUR   KGCO2E\n" +
		"lab-a   3     10.0   12.5  1.25  0.7\n" +
		"lab-b   1     2.0    2.5   0.25  0.3\n" +
		"TOTAL   4     12.0   15.0  1.50  1.0\n"
	if code != 0 || out != want {
		t.Errorf("usage: exit %d\n%s\nwant\n%s", code, out, want)
	}
	// The table's EUR and KGCO2E leave unpriced energy out; it says so.
	if want := "note: 0.8 of the 15.0 kWh were drawn in hours without a grid price (lab-b 0.8); EUR and KGCO2E leave them out\n"; errs != want {
		t.Errorf("usage: stderr %q, want %q", errs, want)
	}
}

// deadServer is an address nothing listens on.
func deadServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestUnreachableServer(t *testing.T) {
	addr := deadServer(t)
	want := "error: cannot reach the Carnot server at https://" + addr +
		": connection refused (start one with \"carnot dev\", or point --server / CARNOT_ADDR at one)\n"
	code, _, errs := carnot("jobs", "--server", addr)
	if code != ExitFailure || errs != want {
		t.Errorf("--server: exit %d, stderr %q\nwant %q", code, errs, want)
	}
	// an operator's command reads its address from CARNOT_ADMIN_ADDR,
	// and says so
	t.Setenv("CARNOT_ADMIN_ADDR", "https://"+addr)
	code, _, errs = carnot("nodes")
	if want := strings.Replace(want, "CARNOT_ADDR", "CARNOT_ADMIN_ADDR", 1); code != ExitFailure || errs != want {
		t.Errorf("CARNOT_ADMIN_ADDR: exit %d, stderr %q\nwant %q", code, errs, want)
	}
}

func TestCompletion(t *testing.T) {
	code, out, errs := carnot("completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: exit %d, stderr %q, %d bytes", code, errs, len(out))
	}
	f := newFake(t)
	f.jobs = sampleJobs()
	code, out, _ = carnot("__complete", "describe", "--server", f.srv.URL, "")
	if code != 0 || !strings.HasPrefix(out, "a\tlab-a running\nb\tlab-b pending\n:4\n") {
		t.Errorf("__complete describe: exit %d, %q", code, out)
	}
	code, out, _ = carnot("__complete", "drain", "--server", f.srv.URL, "n")
	if code != 0 || !strings.HasPrefix(out, "n1\tready\nn2\tdraining\n:4\n") {
		t.Errorf("__complete drain: exit %d, %q", code, out)
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"sh", "-c", "echo $A; it's", "a=b", ""})
	if want := `sh -c 'echo $A; it'\''s' a=b ''`; got != want {
		t.Errorf("shellJoin: %s, want %s", got, want)
	}
}

// Server flags out of range are usage errors naming the flag, not panics.
func TestServerFlagsOutOfRange(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"server", "--data-dir", dir, "--postgres", "postgres://127.0.0.1:1/x", "--lease-ttl", "0s"}, "--lease-ttl"},
		{[]string{"server", "--data-dir", dir, "--audit-retention", "-1h"}, "--audit-retention"},
		// named by the server's config as "stop after disconnect", once
		// the keys and data directory were made
		{[]string{"server", "--data-dir", dir, "--stop-after-disconnect", "5s"}, "--stop-after-disconnect 5s: 0 (off) or at least --heartbeat-timeout (10s)"},
		// a timeout under two heartbeats: every node flaps not ready, its work lost
		{[]string{"server", "--data-dir", dir, "--heartbeat", "5s", "--heartbeat-timeout", "2s", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, "--heartbeat-timeout 2s: at least twice --heartbeat (5s)"},
		{[]string{"server", "--data-dir", dir, "--heartbeat", "6s", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, "--heartbeat-timeout 10s: at least twice --heartbeat (6s)"},
		{[]string{"server", "--data-dir", dir, "--tls-host", "bad host!", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, "--tls-host"},
	} {
		code, _, errs := carnot(c.args...)
		if code != ExitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("carnot %v: exit %d, stderr %q; want a usage error naming %s", c.args, code, errs, c.want)
		}
	}
}

// An empty list says so, on stderr, instead of a header alone.
func TestJobsEmpty(t *testing.T) {
	f := newFake(t)
	f.jobs = nil
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no active jobs (--all lists finished ones too)\n"},
		{[]string{"--all", "--tenant", "lab-z"}, "no jobs match the filters\n"},
	} {
		code, out, errs := carnot(append([]string{"jobs", "--server", f.srv.URL}, tc.args...)...)
		if code != 0 || out != "" || errs != tc.want {
			t.Errorf("jobs %v: exit %d, stdout %q, stderr %q; want stderr %q", tc.args, code, out, errs, tc.want)
		}
	}
}

// TestJobsEmptyJSON: an empty list printed {"jobs": null} (YAML "jobs:
// null") where the API answers [], so `carnot jobs -o json | jq
// '.jobs[]'` failed when no job matched. It is an empty list.
func TestJobsEmptyJSON(t *testing.T) {
	f := newFake(t)
	f.jobs = nil
	for format, want := range map[string]string{"json": "{\n  \"jobs\": []\n}\n", "yaml": "jobs: []\n"} {
		code, out, errs := carnot("jobs", "--server", f.srv.URL, "-o", format)
		if code != 0 || out != want {
			t.Errorf("jobs -o %s: exit %d, stdout %q, stderr %q; want stdout %q", format, code, out, errs, want)
		}
	}
}

// TestServerAddressWithAPIPath: --server https://host:port/v1, the API's
// base as docs/api.md's curl lines write it, sent every call to
// /v1/v1/… and failed with "no route GET /v1/v1/jobs". It is a usage
// error that gives the address to use; a proxy's own path prefix stays
// allowed.
func TestServerAddressWithAPIPath(t *testing.T) {
	f := newFake(t)
	f.jobs = sampleJobs()
	code, _, errs := carnot("jobs", "--server", f.srv.URL+"/v1/")
	if code != ExitUsage || !strings.Contains(errs, "without /v1") || !strings.Contains(errs, f.srv.URL+"\n") && !strings.Contains(errs, f.srv.URL+")") {
		t.Errorf("--server URL/v1/: exit %d, stderr %q; want a usage error giving %s", code, errs, f.srv.URL)
	}
	if len(f.reqs) != 0 {
		t.Errorf("%d requests sent", len(f.reqs))
	}
	if _, err := client.ParseAddrs("https://gw.example/carnot"); err != nil {
		t.Errorf("a proxy prefix: %v", err)
	}
}
