package sched_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected plans of testdata/sched/*.txt")

// TestScenarios runs the scenario scripts of testdata/sched. A script is
// a list of directives (see scenario_dsl_test.go) that build a snapshot;
// each `schedule` directive runs the core and is followed by a `----`
// line and the expected plan as plan.WriteText renders it, up to the next
// blank line. Every plan must also pass plan.Verify. Regenerate the
// expected plans with
//
//	go test ./internal/sched -run Scenario -rewrite
//
// and review the diff.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "sched", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenario scripts found")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScenario(t, f) })
	}
}

func runScenario(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	w := newWorld()
	var out []string
	for i := 0; i < len(lines); {
		line := lines[i]
		out = append(out, line)
		i++
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		pos := fmt.Sprintf("%s:%d", filepath.Base(path), i)
		if fields[0] != "schedule" {
			if err := w.do(fields); err != nil {
				t.Fatalf("%s: %s: %v", pos, line, err)
			}
			continue
		}
		got, verr, err := schedule(w, fields[1:])
		if err != nil {
			t.Fatalf("%s: %v", pos, err)
		}
		if verr != nil {
			t.Errorf("%s: plan fails plan.Verify:\n%v\nplan:\n%s", pos, verr, strings.Join(got, "\n"))
		}
		var want []string
		if i < len(lines) && lines[i] == "----" {
			i++
			for i < len(lines) && strings.TrimSpace(lines[i]) != "" {
				want = append(want, lines[i])
				i++
			}
		}
		out = append(out, "----")
		out = append(out, got...)
		if i < len(lines) && strings.TrimSpace(lines[i]) != "" {
			out = append(out, "") // keep a separator before the next directive
		}
		if !*rewrite {
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: plan differs (-want +got):\n%s", pos, diff)
			}
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// schedule runs the core on the world's snapshot, checks the plan with
// plan.Verify and returns the rendered plan. Verification failures are
// returned apart (verr) so the caller fails the test but still rewrites.
func schedule(w *world, args []string) (got []string, verr, err error) {
	a, err := parseArgs(args)
	if err != nil {
		return nil, nil, err
	}
	now, err := a.time(w, "now", w.clock)
	if err != nil {
		return nil, nil, err
	}
	if err := a.done(); err != nil {
		return nil, nil, err
	}
	w.clock = now
	snap := w.snapshot()
	p := sched.Schedule(snap, now)
	w.last, w.lastSnap = &p, snap
	var b bytes.Buffer
	if err := plan.WriteText(&b, snap, &p); err != nil {
		return nil, nil, err
	}
	text := strings.TrimSuffix(b.String(), "\n")
	got = strings.Split(text, "\n")
	for _, l := range got {
		if strings.TrimSpace(l) == "" {
			return nil, nil, fmt.Errorf("rendered plan has a blank line:\n%s", text)
		}
	}
	return got, plan.Verify(snap, &p), nil
}
