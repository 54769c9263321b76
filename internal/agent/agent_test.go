package agent

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// getLog fetches a task's log through the agent's handler.
func getLog(t *testing.T, a *Agent, query string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", api.AgentLogsPath+"?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+testLogsToken)
	a.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestTwoReplicasEnvAndLogs(t *testing.T) {
	t.Setenv("CARNOT_TEST_AGENT_ONLY", "from-agent")
	t.Setenv("CARNOT_TEST_BOTH", "from-agent")
	t.Setenv("CARNOT_JOIN_TOKEN", "carnot_join_secret") // the agent's credentials are not the task's
	srv := newFakeServer()
	a := startAgent(t, srv)
	script := `echo "$CARNOT_JOB_ID $RANK $CARNOT_TEST_AGENT_ONLY $CARNOT_TEST_BOTH$CARNOT_JOIN_TOKEN"; echo oops >&2; pwd`
	var tasks []api.Task
	for r := range 2 {
		tasks = append(tasks, sh("j-1", r, script, map[string]string{
			"CARNOT_JOB_ID": "j-1", "RANK": string(rune('0' + r)), "CARNOT_TEST_BOTH": "from-task"}))
	}
	srv.assign(tasks...)
	for r := range 2 {
		st := srv.waitStatus(t, "j-1", r, 1, ended)
		if st.State != api.ReplicaExited || st.ExitCode == nil || *st.ExitCode != 0 || st.PID == 0 ||
			st.StartedAt == nil || st.EndedAt == nil {
			t.Errorf("replica %d: %+v, want exited 0 with PID and times", r, st)
		}
		code, out := getLog(t, a, "job=j-1&attempt=1&replica="+string(rune('0'+r)))
		lines := strings.Split(out, "\n")
		if want := "j-1 " + string(rune('0'+r)) + " from-agent from-task"; code != 200 || lines[0] != want {
			t.Errorf("replica %d stdout = %d %q, want first line %q", r, code, out, want)
		}
		if len(lines) < 2 || !strings.HasPrefix(lines[1], a.cfg.DataDir) {
			t.Errorf("replica %d ran in %q, want a directory under %s", r, lines[1], a.cfg.DataDir)
		}
		if _, out := getLog(t, a, "job=j-1&attempt=1&stream=stderr&replica="+string(rune('0'+r))); out != "oops\n" {
			t.Errorf("replica %d stderr = %q", r, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, "logs", "j-1", "1", "0.stderr")); err != nil || string(b) != "oops\n" {
		t.Errorf("stderr file = %q, %v", b, err)
	}
	reg := srv.registrations()[0]
	if reg.Name != "n1" || reg.CPUs != 4 || len(reg.GPUs) != 2 || reg.GPUs[0].Model != "H100" ||
		!reg.FakeGPUs || !strings.HasPrefix(reg.Address, "http://127.0.0.1:") {
		t.Errorf("Register = %+v", reg)
	}
}

// A task's exit code and signal are reported; one that cannot start
// (no such program, a work directory that is not one) gets 127 or 126
// and its error, which is also in its stderr log.
func TestExitCodes(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	missing := sh("j-miss", 0, "", nil)
	missing.Command = []string{"carnot-no-such-command-here"}
	absent := sh("j-abs", 0, "", nil)
	absent.Command = []string{"/nonexistent/carnot"}
	badDir := sh("j-dir", 0, "true", nil)
	badDir.WorkDir = "/nonexistent/dir"
	srv.assign(sh("j-ok", 0, "exit 0", nil), sh("j-three", 0, "exit 3", nil),
		sh("j-sig", 0, "kill -9 $$", nil), missing, absent, badDir)
	for _, c := range []struct {
		job, state, signal string
		code               int
		hasErr             bool
	}{
		{"j-ok", api.ReplicaExited, "", 0, false},
		{"j-three", api.ReplicaExited, "", 3, false},
		{"j-sig", api.ReplicaExited, "killed", 137, false},
		{"j-miss", api.ReplicaFailed, "", 127, true},
		{"j-abs", api.ReplicaFailed, "", 127, true},
		{"j-dir", api.ReplicaFailed, "", 126, true},
	} {
		st := srv.waitStatus(t, c.job, 0, 1, ended)
		if st.State != c.state || st.ExitCode == nil || *st.ExitCode != c.code || st.Signal != c.signal || (st.Error != "") != c.hasErr {
			t.Errorf("%s: %+v (exit %v), want %s, exit %d, signal %q, error %v", c.job, st, deref(st.ExitCode), c.state, c.code, c.signal, c.hasErr)
		}
		if c.state == api.ReplicaFailed {
			b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, "logs", c.job, "1", "0.stderr"))
			if err != nil || !strings.Contains(string(b), "carnot: cannot start") {
				t.Errorf("%s: stderr log %q, %v; want the reason it could not start", c.job, b, err)
			}
		}
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestStopTermThenKillsGroup(t *testing.T) {
	srv := newFakeServer()
	startAgent(t, srv)
	dir := t.TempDir()
	env := map[string]string{"MARK": filepath.Join(dir, "mark"), "CHILD": filepath.Join(dir, "child")}
	// The shell notes SIGTERM and carries on; its child ignores SIGTERM.
	task := sh("j-stop", 0, `trap 'echo term > "$MARK"' TERM
(trap '' TERM; exec sleep 30) &
echo $! > "$CHILD"
while :; do sleep 0.02; done`, env)
	task.GraceSeconds = 0.6
	srv.assign(task)
	child := readPID(t, env["CHILD"])
	srv.waitStatus(t, "j-stop", 0, 1, running)

	task.Stop = true
	stopAt := time.Now()
	srv.assign(task)
	st := srv.waitStatus(t, "j-stop", 0, 1, ended)
	if took := st.EndedAt.Sub(stopAt); took < 550*time.Millisecond {
		t.Errorf("ended %v after the stop, before the 0.6 s grace", took)
	}
	if b, _ := os.ReadFile(env["MARK"]); string(b) != "term\n" {
		t.Errorf("marker = %q: the task did not get SIGTERM", b)
	}
	if !st.Stopping || st.Signal != "killed" || deref(st.ExitCode) != 137 {
		t.Errorf("status %+v (exit %v), want stopping, killed, 137", st, deref(st.ExitCode))
	}
	// Reported ended only once the whole group is gone: reaped, or a
	// zombie its parent (init) has not reaped yet, which holds nothing.
	if f, err := procStat(child); err == nil && !dead(child, f[0]) {
		t.Errorf("child %d of the group survived the task's end", child)
	}
}

func TestOrphanKilled(t *testing.T) {
	srv := newFakeServer()
	startAgent(t, srv)
	ready := filepath.Join(t.TempDir(), "ready")
	task := sh("j-orphan", 0, `trap '' TERM; echo $$ > "$READY"; exec sleep 30`,
		map[string]string{"READY": ready})
	task.GraceSeconds = 60 // an orphan gets none
	srv.assign(task)
	readPID(t, ready)
	srv.assign() // the server no longer knows it
	st := srv.waitStatus(t, "j-orphan", 0, 1, ended)
	if st.Signal != "killed" || !st.Stopping {
		t.Errorf("orphan ended as %+v, want killed at once", st)
	}
	// Reported once it ended, then forgotten.
	eventually(t, 2*time.Second, func() bool {
		hbs := srv.heartbeats()
		return len(hbs[len(hbs)-1].Tasks) == 0
	}, "the orphan to leave the heartbeats")
}

func TestNeverStartedTwice(t *testing.T) {
	srv := newFakeServer()
	startAgent(t, srv)
	count := filepath.Join(t.TempDir(), "count")
	task := sh("j-once", 0, `echo run >> "$COUNT"`, map[string]string{"COUNT": count})
	for range 5 {
		srv.assign(task)
		time.Sleep(20 * time.Millisecond)
	}
	srv.waitStatus(t, "j-once", 0, 1, ended)
	n := len(srv.heartbeats())
	eventually(t, 2*time.Second, func() bool { return len(srv.heartbeats()) >= n+2 }, "more heartbeats")
	if _, ok := srv.last("j-once", 0, 1); !ok || len(srv.heartbeats()[n+1].Tasks) != 1 {
		t.Errorf("an ended task still listed left the heartbeats")
	}
	srv.assign(task)
	srv.assign() // dropped: the agent forgets it once reported
	eventually(t, 2*time.Second, func() bool {
		hbs := srv.heartbeats()
		return len(hbs[len(hbs)-1].Tasks) == 0
	}, "the task to leave the heartbeats")
	srv.assign(task) // listed again, stale
	time.Sleep(200 * time.Millisecond)
	if b, _ := os.ReadFile(count); string(b) != "run\n" {
		t.Errorf("the task ran %d times, want once", strings.Count(string(b), "run"))
	}
}

func TestDeadline(t *testing.T) {
	srv := newFakeServer()
	startAgent(t, srv)
	task := sh("j-late", 0, `exec sleep 30`, nil)
	deadline := time.Now().Add(200 * time.Millisecond)
	task.Deadline = &deadline
	srv.assign(task)
	st := srv.waitStatus(t, "j-late", 0, 1, ended)
	if st.Signal != "runtime-limit" || !st.Stopping || st.EndedAt.Before(deadline) {
		t.Errorf("status %+v, want stopped at the deadline for runtime-limit", st)
	}

	past := time.Now().Add(-time.Second)
	late := sh("j-past", 0, `exit 0`, nil)
	late.Deadline = &past
	srv.assign(task, late)
	st = srv.waitStatus(t, "j-past", 0, 1, ended)
	if st.Signal != "runtime-limit" || st.PID != 0 {
		t.Errorf("past deadline: %+v, want not started, runtime-limit", st)
	}
}

func TestFollowLogs(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	srv.assign(sh("j-log", 0, `echo one; sleep 0.3; echo two; sleep 0.3; echo three`, nil))
	srv.waitStatus(t, "j-log", 0, 1, running)
	req, _ := http.NewRequest("GET", "http://"+a.Addr()+api.AgentLogsPath+"?job=j-log&replica=0&attempt=1&follow=true", nil)
	req.Header.Set("Authorization", "Bearer "+testLogsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "one\n" {
		t.Fatalf("first line %q, %v", buf, err)
	}
	if st, _ := srv.last("j-log", 0, 1); st.State != api.ReplicaRunning {
		t.Errorf("first line came after the task ended: %+v", st)
	}
	rest, err := io.ReadAll(resp.Body) // ends when the task does
	if err != nil || string(rest) != "two\nthree\n" {
		t.Errorf("rest %q, %v", rest, err)
	}
	if st, _ := srv.last("j-log", 0, 1); st.State == api.ReplicaRunning {
		// The stream ended with the process; the heartbeat may lag a little.
		srv.waitStatus(t, "j-log", 0, 1, ended)
	}
	if code, out := getLog(t, a, "job=j-log&replica=0&attempt=1&offset=4"); code != 200 || out != "two\nthree\n" {
		t.Errorf("offset 4: %d %q", code, out)
	}
}

func TestLogErrors(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	eventually(t, 5*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.logsToken != ""
	}, "the agent registered (it has the logs token)")
	for query, want := range map[string]int{
		"job=nope&replica=0&attempt=1":                http.StatusNotFound,
		"job=../..&replica=0&attempt=1":               http.StatusNotFound,
		"replica=0&attempt=1":                         http.StatusBadRequest,
		"job=j&replica=x&attempt=1":                   http.StatusBadRequest,
		"job=j&replica=0":                             http.StatusBadRequest,
		"job=j&replica=0&attempt=1&stream=both":       http.StatusBadRequest,
		"job=j&replica=0&attempt=1&follow=maybe":      http.StatusBadRequest,
		"job=j&replica=0&attempt=1&offset=-1":         http.StatusBadRequest,
		"job=nope&replica=0&attempt=1&stream=stderr":  http.StatusNotFound,
		"job=nope&replica=0&attempt=1&follow=1&x=yes": http.StatusNotFound,
	} {
		if code, body := getLog(t, a, query); code != want {
			t.Errorf("%s: %d %q, want %d", query, code, body, want)
		} else if code == http.StatusNotFound && !strings.Contains(body, "no ") {
			t.Errorf("%s: 404 body %q does not say what is missing", query, body)
		}
	}
}

// The agent checks a task's jurisdictions against its site's before it
// starts it: a task its site may not run is refused, reported failed and
// never started.
func TestRefusesTaskOutsideItsJurisdiction(t *testing.T) {
	srv := newFakeServer()
	srv.tags = []string{"EU", "FR"}
	startAgent(t, srv)
	marker := filepath.Join(t.TempDir(), "ran")
	us := sh("j-us", 0, `touch "$M"`, map[string]string{"M": marker})
	us.Jurisdictions = []string{"US"}
	eu := sh("j-eu", 0, `true`, nil)
	eu.Jurisdictions = []string{"DE", "EU"}
	// the job's tags are carried, its tenant's or its data class's not
	tenant := sh("j-tenant", 0, `touch "$M"`, map[string]string{"M": marker})
	tenant.Jurisdictions, tenant.TenantJurisdictions = []string{"EU"}, []string{"DE"}
	class := sh("j-class", 0, `touch "$M"`, map[string]string{"M": marker})
	class.TenantJurisdictions, class.DataClassJurisdictions = []string{"EU"}, []string{"CH"}
	srv.assign(us, eu, tenant, class)
	st := srv.waitStatus(t, "j-us", 0, 1, ended)
	if st.State != api.ReplicaFailed || !strings.Contains(st.Error, "refused") || !strings.Contains(st.Error, "US") {
		t.Errorf("task for US on an EU/FR site: %+v, want failed, refused", st)
	}
	for job, want := range map[string]string{"j-tenant": "tenant's jurisdictions [DE]", "j-class": "data class's jurisdictions [CH]"} {
		if st := srv.waitStatus(t, job, 0, 1, ended); st.State != api.ReplicaFailed || !strings.Contains(st.Error, want) {
			t.Errorf("%s on an EU/FR site: %+v, want failed, naming %s", job, st, want)
		}
	}
	if st := srv.waitStatus(t, "j-eu", 0, 1, ended); st.State != api.ReplicaExited || st.ExitCode == nil || *st.ExitCode != 0 {
		t.Errorf("task for EU: %+v, want it run", st)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the refused task ran")
	}
}

// The agent checks tasks against its site's jurisdictions as the server
// says them now: every heartbeat's answer carries them. A server
// restarted with the site's tags changed is not registered with again;
// an agent that kept the tags of its registration refused the tasks the
// server placed there by the new ones (they failed, and their jobs with
// them), and would run those the old ones allowed.
func TestSiteTagsFollowTheServer(t *testing.T) {
	srv := newFakeServer()
	srv.tags = []string{"EU", "FR"}
	startAgent(t, srv)
	srv.set(func(s *fakeServer) { s.hbTags = []string{"EU", "FR", "SEC"} }) // the facility file gave the site SEC
	n := len(srv.heartbeats())
	eventually(t, 2*time.Second, func() bool { return len(srv.heartbeats()) > n+2 }, "heartbeats answered with the new tags")
	sec := sh("j-sec", 0, `true`, nil)
	sec.Jurisdictions = []string{"SEC"}
	srv.assign(sec)
	if st := srv.waitStatus(t, "j-sec", 0, 1, ended); st.State != api.ReplicaExited || st.ExitCode == nil || *st.ExitCode != 0 {
		t.Errorf("task for SEC on a site the server now says carries SEC: %+v, want it run", st)
	}
}

// The agent beats at the interval every heartbeat's answer carries, not
// only at its registration's: a server restarted with a shorter
// --heartbeat is not registered with again, and counts a GPU's energy
// across a gap of at most three of its own intervals (older agents keep
// the interval the node was given at registration).
func TestHeartbeatIntervalFollowsTheServer(t *testing.T) {
	srv := newFakeServer()
	srv.interval = 2 // registered every 2 s
	short := 0.05
	srv.hbInterval = &short // the server now says 50 ms
	startAgent(t, srv)
	eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) >= 10 },
		"10 heartbeats, 50 ms apart as the server's answers say (registered every 2 s)")
}

// A server restarted with another token key presents another log token;
// the agent, registered before and not registered with again, took its
// token from its registration only, so every log fetch got 401 until
// the agent was restarted. It now takes the token every heartbeat's
// answer carries.
func TestLogsTokenFollowsTheHeartbeatAnswers(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	srv.assign(sh("j-key", 0, `echo after-the-key-change`, nil))
	srv.waitStatus(t, "j-key", 0, 1, ended)
	srv.set(func(s *fakeServer) { s.hbLogsToken = "logs-secret-2" })
	n := len(srv.heartbeats())
	eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) >= n+2 }, "two more heartbeats")
	for tok, want := range map[string]int{testLogsToken: http.StatusUnauthorized, "logs-secret-2": http.StatusOK} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", api.AgentLogsPath+"?job=j-key&replica=0&attempt=1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		a.Handler().ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("token %q after the heartbeats gave another: %d, want %d", tok, rec.Code, want)
		}
	}
}

// A heartbeat the server refuses (401: the node's certificate revoked,
// or replaced by an enrollment) makes the log server refuse every
// token until the server gives one again: whoever registered with a
// stolen key of the node learned the token, and the server, which no
// longer accepts the node's certificate, fetches no log from it.
func TestLogServerRefusesAllOnceTheServerRefusesTheNode(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	srv.assign(sh("j-rev", 0, `echo tenant-output`, nil))
	srv.waitStatus(t, "j-rev", 0, 1, ended)
	srv.set(func(s *fakeServer) {
		s.hbRefuse = &api.Problem{Status: http.StatusUnauthorized, Detail: "node n1's certificates were revoked"}
	})
	eventually(t, 5*time.Second, func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.hbRefused > 0
	}, "a refused heartbeat")
	logs := func() int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", api.AgentLogsPath+"?job=j-rev&replica=0&attempt=1", nil)
		req.Header.Set("Authorization", "Bearer "+testLogsToken)
		a.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	if code := logs(); code != http.StatusUnauthorized {
		t.Errorf("the logs token once the server refused the node: %d, want 401", code)
	}
	srv.set(func(s *fakeServer) { s.hbRefuse, s.hbLogsToken = nil, testLogsToken })
	eventually(t, 5*time.Second, func() bool { return logs() == http.StatusOK }, "the logs served once a heartbeat's answer gives the token again")
}

// The log server answers only the bearer of the token the server gave at
// registration.
func TestLogsNeedTheServersToken(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv)
	srv.assign(sh("j-sec", 0, `echo secret-output`, nil))
	srv.waitStatus(t, "j-sec", 0, 1, ended)
	for _, h := range []string{"", "Bearer ", "Bearer wrong", "Basic " + testLogsToken, testLogsToken} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", api.AgentLogsPath+"?job=j-sec&replica=0&attempt=1", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		a.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), "secret-output") {
			t.Errorf("Authorization %q: %d %q, want 401 without the log", h, rec.Code, rec.Body.String())
		}
	}
	if code, body := getLog(t, a, "job=j-sec&replica=0&attempt=1"); code != 200 || !strings.Contains(body, "secret-output") {
		t.Errorf("with the token: %d %q", code, body)
	}
}
