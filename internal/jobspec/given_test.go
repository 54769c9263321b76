package jobspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LoadFileToSubmit names the fields each job's file wrote, in YAML (one
// document or several) and in JSON Lines alike.
func TestLoadFileToSubmitGiven(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"jobs.yaml":  "- {tenant: a, gpus: 1, command: [x]}\n- {tenant: a, gpus: 1, command: [x], preemptible: false}\n---\ntenant: a\ngpus: 1\ncommand: [x]\npriority_class: high\n",
		"jobs.jsonl": `{"tenant":"a","gpus":1,"command":["x"]}` + "\n" + `{"tenant":"a","gpus":1,"command":["x"],"preemptible":false}` + "\n" + `{"tenant":"a","gpus":1,"command":["x"],"priority_class":"high"}` + "\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		jobs, given, err := LoadFileToSubmit(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(jobs) != 3 || len(given) != 3 {
			t.Fatalf("%s: %d jobs, %d given", name, len(jobs), len(given))
		}
		for i, want := range []struct{ preemptible, class, tenant bool }{{false, false, true}, {true, false, true}, {false, true, true}} {
			g := given[i]
			if g.Has("preemptible") != want.preemptible || g.Has("priority_class") != want.class || g.Has("tenant") != want.tenant || g.Has("nonsense") {
				t.Errorf("%s job %d: preemptible %v, priority_class %v, tenant %v, nonsense %v; want %+v", name, i,
					g.Has("preemptible"), g.Has("priority_class"), g.Has("tenant"), g.Has("nonsense"), want)
			}
		}
	}
}

// LoadFileToSubmit refuses, each on its line, the jobs the live control
// plane cannot run, and Given.Line finds a field's line for the errors
// the server reports by field.
func TestLoadFileToSubmit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub.yaml")
	body := "jobs:\n" +
		"  - id: ok\n    tenant: a\n    gpus: 1\n    command: [true]\n" + // lines 2-5
		"  - id: nocmd\n    tenant: a\n    gpus: 1\n" + // lines 6-8
		"  - id: nothing\n    tenant: a\n    gpus: 0\n    command: [true]\n" // lines 9-12
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadFileToSubmit(path)
	want := path + ":6: jobs[1].command: is required to submit: the argv the node agent runs, e.g. [python, train.py]\n" +
		path + ":11: jobs[2].gpus: a replica must ask for GPUs, CPUs or memory: give gpus, cpus or memory_gib"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	if _, err := LoadFile(path, nil); err != nil {
		t.Errorf("LoadFile, which schedule and the twin use, refuses them: %v", err)
	}
	if err := os.WriteFile(path, []byte(body[:strings.Index(body, "  - id: nocmd")]), 0o644); err != nil {
		t.Fatal(err)
	}
	_, given, err := LoadFileToSubmit(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, line := range map[string]int{"command": 5, "gpus": 4, "gpu_model": 2, "nonsense": 2} {
		if got := given[0].Line(name); got != line {
			t.Errorf("Line(%q) = %d, want %d", name, got, line)
		}
	}
}
