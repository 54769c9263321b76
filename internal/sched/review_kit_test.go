package sched_test

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// reviewStep is the outcome of one `schedule` directive of a review script.
type reviewStep struct {
	snap *model.Snapshot
	plan model.Plan
	text string
	verr error
}

// reviewRun runs a scenario script (the DSL of scenario_dsl_test.go) and
// returns one step per `schedule` line (a bare script gets one at the end).
func reviewRun(t *testing.T, script string) (*world, []reviewStep) {
	t.Helper()
	w := newWorld()
	var steps []reviewStep
	run := func(args []string) {
		got, verr, err := schedule(w, args)
		if err != nil {
			t.Fatalf("schedule: %v", err)
		}
		steps = append(steps, reviewStep{snap: w.lastSnap, plan: *w.last, text: strings.Join(got, "\n"), verr: verr})
	}
	for _, line := range strings.Split(script, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[0] == "schedule" {
			run(f[1:])
			continue
		}
		if err := w.do(f); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	if len(steps) == 0 {
		run(nil)
	}
	return w, steps
}

func started(p model.Plan, job string) *model.Start {
	for i := range p.Starts {
		if p.Starts[i].Job == job {
			return &p.Starts[i]
		}
	}
	return nil
}

func pendingOf(p model.Plan, job string) *model.Pending {
	for i := range p.Pending {
		if p.Pending[i].Job == job {
			return &p.Pending[i]
		}
	}
	return nil
}

func startedGPUs(s *model.Start) int {
	n := 0
	for _, r := range s.Replicas {
		n += len(r.GPUs)
	}
	return n
}

// scheduleNoPanic runs the core and turns a panic into a test error.
func scheduleNoPanic(t *testing.T, snap *model.Snapshot, now model.Time) (p model.Plan, ok bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("Schedule panicked: %v", r)
			ok = false
		}
	}()
	return sched.Schedule(snap, now), true
}
