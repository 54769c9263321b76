package agent

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// The crash tests run agents as processes of their own, to kill them
// with SIGKILL: this test binary run again into TestAgentProcess, with
// these variables, against the fake server's HTTP face.
const (
	agentServerEnv = "CARNOT_TEST_AGENT_SERVER" // the fake server's URL; unset: TestAgentProcess skips
	agentDataEnv   = "CARNOT_TEST_AGENT_DATA"   // the agent's data directory
	// agentCrashEnv, set to "exec", makes the agent kill itself (SIGKILL)
	// right after its first task's process started, before it recorded
	// the process group or reported the start (processes.afterExec).
	agentCrashEnv = "CARNOT_TEST_AGENT_CRASH"
)

// TestAgentProcess is not a test: it is the agent process of the crash
// tests (agentProcess), run until SIGTERM or SIGKILL.
func TestAgentProcess(t *testing.T) {
	url := os.Getenv(agentServerEnv)
	if url == "" {
		t.Skip("the agent process of the crash tests, run by them")
	}
	cl, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Name: "n1", Site: "lab", DataDir: os.Getenv(agentDataEnv), CPUs: 4, MemoryGiB: 16,
		Heartbeat: 50 * time.Millisecond,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))}, cl)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv(agentCrashEnv) == "exec" {
		a.rt.(*processes).afterExec = func(int) { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	}
	a.retryMin, a.retryMax = 10*time.Millisecond, 50*time.Millisecond
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// agentProcess starts an agent process on dataDir against the server at
// url; crash is agentCrashEnv's value. It is stopped (SIGTERM) when the
// test ends, unless the test killed it.
func agentProcess(t *testing.T, url, dataDir, crash string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAgentProcess$")
	cmd.Env = append(os.Environ(), agentServerEnv+"="+url, agentDataEnv+"="+dataDir, agentCrashEnv+"="+crash)
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	})
	return cmd
}

// handler is the fake server's HTTP face: the agent's routes, as
// internal/client calls them.
func (s *fakeServer) handler() http.Handler {
	reply := func(w http.ResponseWriter, v any, err error) {
		var p *api.Problem
		switch {
		case errors.As(err, &p):
		case err != nil:
			p = &api.Problem{Status: http.StatusServiceUnavailable, Detail: err.Error()}
		default:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v)
			return
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(p.Status)
		_ = json.NewEncoder(w).Encode(p)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/agent/register", func(w http.ResponseWriter, r *http.Request) {
		var reg api.Register
		if err := json.NewDecoder(r.Body).Decode(&reg); err != nil {
			reply(w, nil, &api.Problem{Status: http.StatusBadRequest, Detail: err.Error()})
			return
		}
		out, err := s.Register(r.Context(), reg)
		reply(w, out, err)
	})
	mux.HandleFunc("POST /v1/agent/nodes/{name}/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		var hb api.Heartbeat
		if err := json.NewDecoder(r.Body).Decode(&hb); err != nil {
			reply(w, nil, &api.Problem{Status: http.StatusBadRequest, Detail: err.Error()})
			return
		}
		out, err := s.Heartbeat(r.Context(), r.PathValue("name"), hb)
		reply(w, out, err)
	})
	mux.HandleFunc("GET /v1/agent/nodes/{name}/assignments", func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
		out, err := s.Assignments(r.Context(), r.PathValue("name"), after, wait)
		reply(w, out, err)
	})
	return mux
}

// lines is the lines of a file, none when it does not exist.
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// An agent killed (SIGKILL) after it started a task: as the process
// started (before it recorded anything but its intent), once a heartbeat
// reported it running, or after it ended but before its end was
// reported. The server (this fake) still lists the task. The next agent
// on the data directory kills what is left of it and reports it lost, in
// its registration already; it never starts it again in the same
// attempt: a gang's peers would not know that one of them started anew.
func TestCrashedAgentsTaskIsLostNotStartedAgain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		crash  string // agentCrashEnv
		down   bool   // heartbeats fail until the first agent is dead
		script string
		until  func(t *testing.T, srv *fakeServer, pid int) // then the first agent is killed
	}{
		{name: "as its process started", crash: "exec", script: `echo $$ >> "$STARTS"; exec sleep 300`,
			until: func(*testing.T, *fakeServer, int) {}},
		{name: "before its start was reported", down: true, script: `echo $$ >> "$STARTS"; exec sleep 300`,
			until: func(t *testing.T, _ *fakeServer, pid int) {
				time.Sleep(100 * time.Millisecond) // the group recorded, heartbeats tried
			}},
		{name: "once it was reported running", script: `echo $$ >> "$STARTS"; exec sleep 300`,
			until: func(t *testing.T, srv *fakeServer, pid int) {
				srv.waitStatus(t, "j", 0, 1, func(st api.TaskStatus) bool { return st.State == api.ReplicaRunning && st.PID == pid })
			}},
		{name: "after it ended, before its end was reported", down: true, script: `echo $$ >> "$STARTS"; exit 3`,
			until: func(t *testing.T, _ *fakeServer, pid int) {
				eventually(t, 5*time.Second, func() bool { return !alive(pid) }, "the task %d to end", pid)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer()
			srv.down = tc.down
			hs := httptest.NewServer(srv.handler())
			t.Cleanup(hs.Close) // last: after the agents' cleanups, which end their long polls
			dir, starts := t.TempDir(), filepath.Join(t.TempDir(), "starts")
			srv.assign(sh("j", 0, tc.script, map[string]string{"STARTS": starts}))
			first := agentProcess(t, hs.URL, dir, tc.crash)
			pid := readPID(t, starts)
			t.Cleanup(func() { _ = killPID(pid) })
			tc.until(t, srv, pid)
			_ = first.Process.Kill()
			_ = first.Wait()

			srv.set(func(s *fakeServer) { s.down, s.polled = false, -1 })
			agentProcess(t, hs.URL, dir, "")
			st := srv.waitStatus(t, "j", 0, 1, func(st api.TaskStatus) bool {
				return st.State != api.ReplicaRunning || st.PID != pid
			})
			if st.State != api.ReplicaLost {
				t.Fatalf("the next agent reports %+v, want the task lost", st)
			}
			eventually(t, 5*time.Second, func() bool {
				srv.mu.Lock()
				defer srv.mu.Unlock()
				return srv.polled == srv.as.Version
			}, "the next agent to apply the assignments")
			if got := lines(t, starts); len(got) != 1 {
				t.Errorf("the task was started %d times (PIDs %v), want once", len(got), got)
			}
			eventually(t, 5*time.Second, func() bool { return !alive(pid) }, "the crashed agent's task %d to be killed", pid)
			regs := srv.registrations()
			if last := regs[len(regs)-1]; len(last.Tasks) != 1 || last.Tasks[0].State != api.ReplicaLost || last.Tasks[0].Error == "" {
				t.Errorf("the next agent registered with %+v, want the task lost, and why", last.Tasks)
			}
		})
	}
}

// recorded is the tasks startedFile in dir lists.
func recorded(t *testing.T, dir string) []taskKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, startedFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	var keys []taskKey
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatalf("%s: %v", startedFile, err)
	}
	return keys
}

// runAgent runs an agent on dir until the function it returns is called,
// which waits for it to stop.
func runAgent(t *testing.T, srv *fakeServer, dir string) (stop func()) {
	t.Helper()
	a, err := New(Config{Name: "n1", Site: "lab", DataDir: dir, CPUs: 4, MemoryGiB: 16, Heartbeat: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))}, srv)
	if err != nil {
		t.Fatal(err)
	}
	a.retryMin, a.retryMax = 10*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// nextRegistration waits for the registration after the first done ones.
func nextRegistration(t *testing.T, srv *fakeServer, done int) api.Register {
	t.Helper()
	eventually(t, 5*time.Second, func() bool { return len(srv.registrations()) > done }, "registration %d", done+1)
	return srv.registrations()[done]
}

// The record of started tasks lists a task from before its process
// starts until the server no longer needs its end. An agent that stops
// once a heartbeat carried its tasks' ends leaves none recorded, and the
// next agent reports nothing lost; one whose last heartbeat failed
// leaves them, and the next agent reports them lost.
func TestStartedRecordFollowsTheTasks(t *testing.T) {
	srv, dir := newFakeServer(), t.TempDir()
	seen := filepath.Join(t.TempDir(), "seen")
	env := map[string]string{"RECORD": filepath.Join(dir, startedFile), "SEEN": seen}
	long := sh("j-long", 0, `grep -q '"job":"j-long"' "$RECORD" && echo yes > "$SEEN"; exec sleep 30`, env)
	short := sh("j-short", 0, `exit 0`, nil)
	stop := runAgent(t, srv, dir)
	srv.assign(long, short)
	srv.waitStatus(t, "j-short", 0, 1, ended)
	srv.waitStatus(t, "j-long", 0, 1, running)
	eventually(t, 5*time.Second, func() bool { _, err := os.Stat(seen); return err == nil },
		"the task to find itself in %s as it starts", startedFile)
	srv.assign(long) // the short task's end reached the server: forgotten
	want := []taskKey{{"j-long", 0, 1}}
	eventually(t, 5*time.Second, func() bool { return slices.Equal(recorded(t, dir), want) },
		"%s to list %v: %v", startedFile, want, recorded(t, dir))
	stop() // stops the task; the last heartbeat carries its end
	if got := recorded(t, dir); got != nil {
		t.Errorf("after a stop whose last heartbeat succeeded, %s lists %v, want none", startedFile, got)
	}

	srv.assign(sh("j-next", 0, `exec sleep 30`, nil))
	stop = runAgent(t, srv, dir)
	if reg := nextRegistration(t, srv, 1); len(reg.Tasks) != 0 {
		t.Errorf("the agent after a clean stop registered with %+v, want no task", reg.Tasks)
	}
	srv.waitStatus(t, "j-next", 0, 1, running)
	srv.set(func(s *fakeServer) { s.down = true })
	stop()
	srv.set(func(s *fakeServer) { s.down = false })
	runAgent(t, srv, dir)
	if got := nextRegistration(t, srv, 2).Tasks; len(got) != 1 || got[0].Job != "j-next" || got[0].State != api.ReplicaLost {
		t.Errorf("the agent after a stop whose last heartbeat failed registered with %+v, want j-next lost", got)
	}
}

// A task whose start cannot be recorded does not start: it is reported
// failed (126), naming the file, and nothing runs that a crash could
// leave unaccounted for.
func TestUnrecordableStartFails(t *testing.T) {
	srv, dir := newFakeServer(), t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, startedFile+".tmp"), 0o700); err != nil { // the write's temporary file cannot be made
		t.Fatal(err)
	}
	ran := filepath.Join(t.TempDir(), "ran")
	runAgent(t, srv, dir)
	srv.assign(sh("j-unrec", 0, `touch "$RAN"`, map[string]string{"RAN": ran}))
	st := srv.waitStatus(t, "j-unrec", 0, 1, ended)
	if st.State != api.ReplicaFailed || deref(st.ExitCode) != 126 || !strings.Contains(st.Error, startedFile) {
		t.Errorf("status %+v, want failed 126 naming %s", st, startedFile)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the task ran although its start could not be recorded")
	}
}
