package agent

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
)

// fakeServer is the control plane in memory: it records registrations and
// heartbeats and long-polls assignments the test sets.
type fakeServer struct {
	mu       sync.Mutex
	regs     []api.Register
	regFails int // the next Register calls that fail
	// refuse, while set, is the server's answer to every Register call
	// (a refusal); regCalls counts the calls, refused or not
	refuse   *api.Problem
	regCalls []time.Time
	hbs      []api.Heartbeat
	heard    time.Time // when the latest heartbeat answered (in hbs) arrived
	gone     bool      // the next heartbeat answers 404 (a restarted server)
	down     bool      // heartbeats fail (the server is unreachable)
	interval float64
	tags     []string // the site's jurisdictions it tells the agent
	as       api.Assignments
	changed  chan struct{}
	polled   int64 // the version the latest Assignments call waited past
	// stopAfter is the stop-after-disconnect it tells the agent at
	// registration (seconds); hbStopAfter, when set, in every heartbeat's
	// answer
	stopAfter   float64
	hbStopAfter *float64
	// hbTags, when set, are the site's jurisdictions every heartbeat's
	// answer carries
	hbTags []string
	// hbInterval, when set, is the heartbeat interval (seconds) every
	// heartbeat's answer carries
	hbInterval *float64
	// hbLogsToken, when set, is the log server's token every
	// heartbeat's answer carries
	hbLogsToken string
	// hbRefuse, while set, is every heartbeat's answer (its
	// certificate refused: revoked, say); hbRefused counts them
	hbRefuse  *api.Problem
	hbRefused int
	// downBeats counts the heartbeats failed for down
	downBeats int
}

func newFakeServer() *fakeServer { return &fakeServer{changed: make(chan struct{}), interval: 0.05} }

func (s *fakeServer) Register(_ context.Context, r api.Register) (api.Registered, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regCalls = append(s.regCalls, time.Now())
	if s.refuse != nil {
		return api.Registered{}, s.refuse
	}
	if s.regFails > 0 {
		s.regFails--
		return api.Registered{}, errors.New("connection refused")
	}
	s.regs = append(s.regs, r)
	return api.Registered{Node: r.Name, HeartbeatSeconds: s.interval, HeartbeatTimeoutSeconds: 1, Jurisdictions: s.tags,
		LogsToken: testLogsToken, StopAfterDisconnectSeconds: s.stopAfter}, nil
}

func (s *fakeServer) Heartbeat(_ context.Context, node string, hb api.Heartbeat) (api.HeartbeatReply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		s.downBeats++
		return api.HeartbeatReply{}, errors.New("503 service unavailable")
	}
	if s.hbRefuse != nil {
		s.hbRefused++
		return api.HeartbeatReply{}, s.hbRefuse
	}
	if s.gone {
		s.gone = false
		return api.HeartbeatReply{}, &api.Problem{Status: http.StatusNotFound, Detail: "no node " + node}
	}
	s.hbs = append(s.hbs, hb)
	s.heard = time.Now()
	reply := api.HeartbeatReply{Version: s.as.Version}
	if s.hbStopAfter != nil {
		reply.StopAfterDisconnectSeconds = s.hbStopAfter
	}
	reply.Jurisdictions = s.hbTags
	reply.HeartbeatSeconds = s.hbInterval
	reply.LogsToken = s.hbLogsToken
	return reply, nil
}

func (s *fakeServer) Assignments(ctx context.Context, _ string, after int64, wait time.Duration) (api.Assignments, error) {
	s.set(func(s *fakeServer) { s.polled = after })
	timeout := time.After(wait)
	for {
		s.mu.Lock()
		as, ch := s.as, s.changed
		s.mu.Unlock()
		if as.Version != after {
			return as, nil
		}
		select {
		case <-ctx.Done():
			return api.Assignments{}, ctx.Err()
		case <-ch:
		case <-timeout:
			return as, nil
		}
	}
}

// set changes the server's state under its lock.
func (s *fakeServer) set(f func(*fakeServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// assign publishes a new version of the assignments.
func (s *fakeServer) assign(tasks ...api.Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.as = api.Assignments{Version: s.as.Version + 1, Tasks: tasks}
	close(s.changed)
	s.changed = make(chan struct{})
}

// rebuild replaces the server by one built from its store: the same
// node, assignments numbered afresh from base, and the long polls the
// replaced server held never answered.
func (s *fakeServer) rebuild(base int64, tasks ...api.Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.as = api.Assignments{Version: base, Tasks: tasks}
	s.changed = make(chan struct{})
}

// last is the task's status in the latest heartbeat that carried it.
func (s *fakeServer) last(job string, replica, attempt int) (api.TaskStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.hbs) - 1; i >= 0; i-- {
		for _, ts := range s.hbs[i].Tasks {
			if ts.Job == job && ts.Replica == replica && ts.Attempt == attempt {
				return ts, true
			}
		}
	}
	return api.TaskStatus{}, false
}

func (s *fakeServer) registrations() []api.Register {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]api.Register(nil), s.regs...)
}

func (s *fakeServer) heartbeats() []api.Heartbeat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]api.Heartbeat(nil), s.hbs...)
}

// waitStatus waits until the task's reported status satisfies ok.
func (s *fakeServer) waitStatus(t *testing.T, job string, replica, attempt int, ok func(api.TaskStatus) bool) api.TaskStatus {
	t.Helper()
	var st api.TaskStatus
	eventually(t, 5*time.Second, func() bool {
		var found bool
		st, found = s.last(job, replica, attempt)
		return found && ok(st)
	}, "status of %s/%d/%d: last %+v", job, replica, attempt, &st)
	return st
}

func ended(st api.TaskStatus) bool { return st.State != api.ReplicaRunning }
func running(st api.TaskStatus) bool {
	return st.State == api.ReplicaRunning
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, within time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startAgent runs an agent with two fake H100s against srv until the test
// ends.
func startAgent(t *testing.T, srv Server, mods ...func(*Config)) *Agent {
	t.Helper()
	fake, err := gpu.NewFake(2, "H100", "n1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Name: "n1", Site: "lab", DataDir: t.TempDir(), Devices: fake, FakeGPUs: true,
		CPUs: 4, MemoryGiB: 16, Heartbeat: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mods {
		m(&cfg)
	}
	a, err := New(cfg, srv)
	if err != nil {
		t.Fatal(err)
	}
	a.retryMin, a.retryMax = 10*time.Millisecond, 50*time.Millisecond
	a.refusedMin, a.refusedMax = 200*time.Millisecond, 400*time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return a
}

// sh is a task running a /bin/sh script.
func sh(job string, replica int, script string, env map[string]string) api.Task {
	return api.Task{Job: job, Tenant: "acme", Replica: replica, Attempt: 1,
		Command: []string{"/bin/sh", "-c", script}, Env: env, GraceSeconds: 1}
}

// gone reports whether the process pid no longer exists (and was reaped).
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// readPID waits for a file holding a PID and reads it.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	eventually(t, 3*time.Second, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	}, "a PID in %s", path)
	return pid
}

// testLogsToken is the log server's token the fake server hands out.
const testLogsToken = "logs-secret"

// runGPUAgent runs an agent on cfg, with one fake H200, 1 CPU and 1 GiB and
// a data directory of its own unless cfg says otherwise, against srv;
// done yields Run's error once ctx is cancelled.
func runGPUAgent(t *testing.T, srv *fakeServer, cfg Config) (cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	fake, err := gpu.NewFake(1, "H200", cfg.Name)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Devices = fake
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.CPUs, cfg.MemoryGiB = max(cfg.CPUs, 1), max(cfg.MemoryGiB, 1)
	a, err := New(cfg, srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan error, 1)
	go func() { ch <- a.Run(ctx) }()
	return cancel, ch
}

// noCgroups runs an agent without cgroups: for the tests of how the
// agent follows a task's processes by group and mark, which is all it
// has where it cannot make cgroups (with them, the cgroup holds every
// process, and a process that escapes group and mark is killed at once).
func noCgroups(c *Config) { c.Cgroups = CgroupsOff }
