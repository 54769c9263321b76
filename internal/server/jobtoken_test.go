package server

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// bearer sends tok as the request's credential.
func bearer(tok string) func(*http.Request) *http.Request {
	return func(r *http.Request) *http.Request {
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	}
}

// taskToken is the job token n1's agent is handed for replica 0 of job;
// it fails the test when there is none.
func taskToken(e *env, job string) string {
	e.t.Helper()
	for _, tk := range e.tasks("n1") {
		if tk.Job == job && tk.Replica == 0 {
			if tk.Token == "" {
				e.t.Fatalf("task of %s, attempt %d: no job token", job, tk.Attempt)
			}
			for k, v := range tk.Env {
				if strings.Contains(v, tk.Token) {
					e.t.Errorf("task of %s: the job token is in its env, %s", job, k)
				}
			}
			return tk.Token
		}
	}
	e.t.Fatalf("n1 has no task of job %s", job)
	return ""
}

// The token a task is handed stands for its job's attempt: it reads its
// own job (GET, events, why) and reports its checkpoints, as the job's
// actor in the audit log; it is refused another job of its tenant (404,
// as a job of another tenant is), and anything else (403): submitting,
// cancelling, listing, logs, tokens. Once the attempt is over (preempted
// and queued again) it is refused (401) for everything, its own
// checkpoint included, though the job runs again in a new attempt, whose
// tasks get a token of their own. A token of a forged attempt is
// unknown.
func TestJobTokenActsForItsAttemptOnly(t *testing.T) {
	signer, _ := auditKeys(t)
	e := auditEnv(t, signer)
	e.register("n1", "local", 8)
	other, victim := twoEqualJobs(e) // victim: the one a preemption takes
	tok := taskToken(e, victim)

	var j api.Job
	if code, body := e.doWith(bearer(tok), "POST", "/v1/jobs/"+victim+"/checkpoint", api.CheckpointAck{}, &j); code != http.StatusOK || j.LastCheckpoint == nil {
		t.Fatalf("the task's token checkpoints its job: %d %s; want 200, recorded", code, body)
	}
	for _, path := range []string{"/v1/jobs/" + victim, "/v1/jobs/" + victim + "/events", "/v1/jobs/" + victim + "/why", "/v1/whoami"} {
		if code, body := e.doWith(bearer(tok), "GET", path, nil, nil); code != http.StatusOK {
			t.Errorf("GET %s with the task's token: %d %s; want 200", path, code, body)
		}
	}
	var who api.WhoAmI
	e.doWith(bearer(tok), "GET", "/v1/whoami", nil, &who)
	if who.Role != "job" || who.Tenant != "default" || who.Subject != "job:"+victim+"/1" {
		t.Errorf("whoami with the task's token: %+v; want role job, tenant default, subject job:%s/1", who, victim)
	}
	refused := []struct {
		method, path string
		body         any
		code         int
	}{
		{"POST", "/v1/jobs/" + other + "/checkpoint", api.CheckpointAck{}, http.StatusNotFound},
		{"GET", "/v1/jobs/" + other, nil, http.StatusNotFound},
		{"GET", "/v1/jobs/" + other + "/events", nil, http.StatusNotFound},
		{"GET", "/v1/jobs/" + other + "/why", nil, http.StatusNotFound},
		{"POST", "/v1/jobs", spec(1, 1), http.StatusForbidden},
		{"POST", "/v1/jobs/" + victim + "/cancel", nil, http.StatusForbidden},
		{"POST", "/v1/jobs/" + other + "/cancel", nil, http.StatusForbidden},
		{"GET", "/v1/jobs", nil, http.StatusForbidden},
		{"GET", "/v1/jobs/" + victim + "/logs", nil, http.StatusForbidden},
		{"GET", "/v1/events", nil, http.StatusForbidden},
		{"GET", "/v1/tokens", nil, http.StatusForbidden},
		{"GET", "/v1/audit/entries", nil, http.StatusForbidden},
		{"GET", "/v1/nodes", nil, http.StatusForbidden},
	}
	for _, c := range refused {
		if code, body := e.doWith(bearer(tok), c.method, c.path, c.body, nil); code != c.code {
			t.Errorf("%s %s with the token of job %s: %d %s; want %d", c.method, c.path, victim, code, body, c.code)
		}
	}
	forged := strings.Replace(tok, "_1_", "_2_", 1)
	if code, body := e.doWith(bearer(forged), "GET", "/v1/jobs/"+victim, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("a token of a forged attempt: %d %s; want 401", code, body)
	}

	// Preempted: the attempt runs until its replicas end, and its token
	// acknowledges the notice, the job's actor recorded.
	boss := e.submit(spec(4, 1, "priority_class", "high"))
	e.pass()
	if v := e.job(victim); v.State != api.StatePreempting {
		t.Fatalf("job %s: %s %q; want it preempted for %s", victim, v.State, v.Message, boss)
	}
	if code, body := e.doWith(bearer(tok), "POST", "/v1/jobs/"+victim+"/checkpoint", api.CheckpointAck{Message: "saved"}, nil); code != http.StatusAccepted {
		t.Errorf("the acknowledgement of the preemption with the task's token: %d %s; want 202", code, body)
	}
	acked := false
	for _, ev := range e.jobEvents(victim, "saved") {
		acked = acked || ev.Type == api.EventCheckpoint && ev.Actor == "job:"+victim+"/1"
	}
	if !acked {
		t.Errorf("no checkpoint event of actor job:%s/1: %+v", victim, e.jobEvents(victim, ""))
	}
	e.report("n1", running(other, 0, 1), exited(victim, 0, 1, 137))
	if v := e.job(victim); v.State != api.StatePending {
		t.Fatalf("job %s once its replica ended: %s %q; want pending", victim, v.State, v.Message)
	}
	for _, path := range []string{"/v1/jobs/" + victim + "/checkpoint", "/v1/jobs/" + victim} {
		method := map[bool]string{true: "POST", false: "GET"}[strings.HasSuffix(path, "/checkpoint")]
		if code, body := e.doWith(bearer(tok), method, path, nil, nil); code != http.StatusUnauthorized || !bytes.Contains(body, []byte("the attempt is over")) {
			t.Errorf("%s %s with the token of the attempt preempted: %d %s; want 401 saying the attempt is over", method, path, code, body)
		}
	}

	// The next attempt: the old token stays refused, the new one holds.
	e.pass() // the preemptor starts
	e.report("n1", running(other, 0, 1), running(boss, 0, 1))
	e.report("n1", running(other, 0, 1), exited(boss, 0, 1, 0))
	e.pass()
	if v := e.job(victim); v.State != api.StateRunning || v.Attempt != 2 {
		t.Fatalf("job %s after the preemptor ended: %s, attempt %d; want running attempt 2", victim, v.State, v.Attempt)
	}
	if code, body := e.doWith(bearer(tok), "POST", "/v1/jobs/"+victim+"/checkpoint", nil, nil); code != http.StatusUnauthorized || !bytes.Contains(body, []byte("at attempt 2")) {
		t.Errorf("the token of attempt 1 once attempt 2 runs: %d %s; want 401 saying the job is at attempt 2", code, body)
	}
	tok2 := taskToken(e, victim)
	if tok2 == tok {
		t.Fatal("attempt 2 was handed the token of attempt 1")
	}
	if code, body := e.doWith(bearer(tok2), "POST", "/v1/jobs/"+victim+"/checkpoint", nil, nil); code != http.StatusOK {
		t.Errorf("the token of attempt 2: %d %s; want 200", code, body)
	}
	// ended: refused
	e.report("n1", running(other, 0, 1), exited(victim, 0, 2, 0))
	if code, body := e.doWith(bearer(tok2), "GET", "/v1/jobs/"+victim, nil, nil); code != http.StatusUnauthorized || !bytes.Contains(body, []byte("has ended")) {
		t.Errorf("the token of a job that ended: %d %s; want 401 saying it ended", code, body)
	}
}

// A job token is shown to no one but the task's agent: not in the job as
// the API shows it, its events, the event list, the audit log's export,
// nor anywhere in the store's files (the server stores nothing for it).
func TestJobTokenIsKeptNowhere(t *testing.T) {
	signer, _ := auditKeys(t)
	e := auditEnv(t, signer)
	e.register("n1", "local", 8)
	saver, victim := twoEqualJobs(e)
	toks := []string{taskToken(e, saver), taskToken(e, victim)}
	e.doWith(bearer(toks[0]), "POST", "/v1/jobs/"+saver+"/checkpoint", api.CheckpointAck{Message: "routine"}, nil)
	e.submit(spec(4, 1, "priority_class", "high"))
	e.pass()
	e.doWith(bearer(toks[1]), "POST", "/v1/jobs/"+victim+"/checkpoint", api.CheckpointAck{Message: "acknowledged"}, nil)
	e.report("n1", running(saver, 0, 1), exited(victim, 0, 1, 137))
	var seen [][]byte
	for _, path := range []string{"/v1/jobs/" + saver, "/v1/jobs/" + victim, "/v1/jobs/" + saver + "/events", "/v1/jobs/" + victim + "/events",
		"/v1/events", "/v1/jobs", "/v1/audit/export"} {
		code, body := e.get(path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		seen = append(seen, body)
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, b)
	}
	for _, tok := range toks {
		mac := tok[len("carnotjob_"):][:64] // the secret part; the job and attempt it names are not
		for i, b := range seen {
			if bytes.Contains(b, []byte(mac)) {
				t.Errorf("the job token %s… is in answer or file %d", tok[:20], i)
			}
		}
	}
	if len(files) == 0 {
		t.Fatal("no store file looked at")
	}
}

// A job token is stateless: it holds across a restart of the server (the
// attempt running on), and across a rotation of the token key while the
// key it was made under is a previous key; a server without that key
// does not know it.
func TestJobTokenHoldsAcrossARestart(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(4, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	tok := taskToken(e, id)
	e = e.restart(true)
	e.report("n1", running(id, 0, 1))
	if code, body := e.doWith(bearer(tok), "POST", "/v1/jobs/"+id+"/checkpoint", nil, nil); code != http.StatusOK {
		t.Errorf("the job token after a restart: %d %s; want 200", code, body)
	}
	newKey := bytes.Repeat([]byte{9}, 32)
	e.s.store.Close()
	e = openEnv(t, e.dir, e.s.cfg.Facility, true, e.clock, func(c *Config) {
		c.TokenKey, c.PreviousTokenKeys = newKey, [][]byte{testTokenKey}
	})
	e.report("n1", running(id, 0, 1))
	if code, body := e.doWith(bearer(tok), "POST", "/v1/jobs/"+id+"/checkpoint", nil, nil); code != http.StatusOK {
		t.Errorf("the job token made under the previous key: %d %s; want 200", code, body)
	}
	if tok2 := taskToken(e, id); tok2 == tok {
		t.Error("the task's token is not made under the new key")
	}
	e.s.store.Close()
	e = openEnv(t, e.dir, e.s.cfg.Facility, true, e.clock, func(c *Config) { c.TokenKey = newKey })
	e.report("n1", running(id, 0, 1))
	if code, body := e.doWith(bearer(tok), "POST", "/v1/jobs/"+id+"/checkpoint", nil, nil); code != http.StatusUnauthorized || !bytes.Contains(body, []byte("unknown job token")) {
		t.Errorf("the job token of a key the server no longer has: %d %s; want 401, unknown", code, body)
	}
}
