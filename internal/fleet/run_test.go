package fleet

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/agent"
	"github.com/carnot-dc/carnot/internal/api"
)

func TestDecide(t *testing.T) {
	deadline := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	task := func(cmd []string, env map[string]string, dl *time.Time) api.Task {
		return api.Task{Command: cmd, Env: env, Deadline: dl}
	}
	for _, tc := range []struct {
		name string
		task api.Task
		def  time.Duration
		want fakeRun
	}{
		{"sleep", task([]string{"sleep", "2"}, nil, nil), 0, fakeRun{Duration: 2 * time.Second}},
		{"sleep adds its arguments", task([]string{"/bin/sleep", "1m", "0.5"}, nil, nil), 0, fakeRun{Duration: 60500 * time.Millisecond}},
		{"sleep days", task([]string{"sleep", "1d"}, nil, nil), 0, fakeRun{Duration: 24 * time.Hour}},
		{"sleep infinity", task([]string{"sleep", "infinity"}, nil, nil), 0, fakeRun{Forever: true}},
		{"sleep refuses", task([]string{"sleep", "soon"}, nil, nil), 0, fakeRun{ExitCode: 1}},
		{"sh -c sleep", task([]string{"/bin/sh", "-c", "exec sleep 3"}, nil, nil), 0, fakeRun{Duration: 3 * time.Second}},
		{"a script is not a sleep", task([]string{"sh", "-c", "sleep 3; echo done"}, nil, nil), 7 * time.Second, fakeRun{Duration: 7 * time.Second}},
		{"env wins over sleep", task([]string{"sleep", "9"}, map[string]string{EnvDuration: "200ms"}, nil), 0, fakeRun{Duration: 200 * time.Millisecond}},
		{"env in seconds", task(nil, map[string]string{EnvDuration: "1.5"}, nil), 0, fakeRun{Duration: 1500 * time.Millisecond}},
		{"env infinity", task(nil, map[string]string{EnvDuration: "infinity"}, &deadline), 0, fakeRun{Forever: true}},
		{"bad env", task(nil, map[string]string{EnvDuration: "-3s"}, nil), 0,
			fakeRun{Err: `fake task: FAKE_DURATION="-3s": a duration must not be negative`}},
		{"exit code", task([]string{"sleep", "1"}, map[string]string{EnvExit: "3"}, nil), 0, fakeRun{Duration: time.Second, ExitCode: 3}},
		{"bad exit code", task(nil, map[string]string{EnvExit: "300"}, nil), 0,
			fakeRun{Err: `fake task: FAKE_EXIT="300": want an exit code from 0 to 255`}},
		{"runtime limit", task([]string{"train"}, nil, &deadline), time.Second, fakeRun{UntilDeadline: true}},
		{"default", task([]string{"train"}, nil, nil), time.Minute, fakeRun{Duration: time.Minute}},
		{"until stopped", task([]string{"train"}, nil, nil), 0, fakeRun{Forever: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, decide(tc.task, tc.def)); diff != "" {
				t.Errorf("decide (-want +got):\n%s", diff)
			}
		})
	}
}

// A fake task ends after its run with its exit code, or, when its run is
// the runtime limit, at the deadline it is told; a signal ends it at once
// as it ends a process.
func TestFakeTask(t *testing.T) {
	start := func(env map[string]string, deadline *time.Time) *fakeTask {
		t.Helper()
		p, err := fakeRuntime{}.Start(api.Task{Command: []string{"train"}, Env: env, Deadline: deadline})
		if err != nil {
			t.Fatal(err)
		}
		return p.(*fakeTask)
	}
	began := time.Now()
	if x := start(map[string]string{EnvDuration: "50ms", EnvExit: "3"}, nil).Wait(); x.Code != 3 || x.Signal != "" || x.At.Sub(began) < 50*time.Millisecond {
		t.Errorf("a 50 ms run ended %+v after %s, want exit code 3 after 50 ms", x, x.At.Sub(began))
	}
	if tk := start(map[string]string{EnvDuration: "1h"}, nil); tk.EndAt(time.Now()) {
		t.Error("a run of its own length ends at the deadline by itself: the agent would not stop it there")
	}
	far := time.Now().Add(time.Hour)
	tk := start(nil, &far)
	if !tk.EndAt(time.Now().Add(30 * time.Millisecond)) {
		t.Fatal("a run until the runtime limit does not end at the deadline")
	}
	if x := tk.Wait(); x.Code != 0 || x.Signal != "" {
		t.Errorf("a run until the deadline ended %+v, want exit code 0", x)
	}
	if err := tk.Signal(syscall.SIGTERM); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("SIGTERM to an ended task: %v, want ESRCH", err)
	}
	tk = start(map[string]string{EnvDuration: "infinity"}, nil)
	if err := tk.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if x := tk.Wait(); x.Code != 143 || x.Signal != "terminated" {
		t.Errorf("a stopped task ended %+v, want 143 terminated", x)
	}
	if _, err := (fakeRuntime{}).Start(api.Task{Env: map[string]string{EnvExit: "x"}}); err == nil {
		t.Error("a task with a bad FAKE_EXIT started")
	} else if se := (*agent.StartError)(nil); !errors.As(err, &se) || se.Code != 126 {
		t.Errorf("a task with a bad FAKE_EXIT: %v, want exit code 126", err)
	}
}

// The nodes' heartbeat slots spread evenly over the interval and come
// once per interval.
func TestSlotsSpread(t *testing.T) {
	f := &Fleet{t0: time.Unix(1000, 0), nodes: make([]*agent.Agent, 4)}
	iv := time.Second
	now := f.t0.Add(10*time.Second + 100*time.Millisecond)
	var got []time.Duration
	for i := range 4 {
		got = append(got, f.slot(i, now, iv).Sub(f.t0))
	}
	want := []time.Duration{11 * time.Second, 10250 * time.Millisecond, 10500 * time.Millisecond, 10750 * time.Millisecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slots (-want +got):\n%s", diff)
	}
	if s := f.slot(0, f.t0.Add(11*time.Second), iv); !s.Equal(f.t0.Add(12 * time.Second)) {
		t.Errorf("the slot at a slot's instant is %v, want the next one", s.Sub(f.t0))
	}
}
