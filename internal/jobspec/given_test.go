package jobspec

import (
	"os"
	"path/filepath"
	"testing"
)

// LoadFileGiven names the fields each job's file wrote, in YAML (one
// document or several) and in JSON Lines alike.
func TestLoadFileGiven(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"jobs.yaml":  "- {tenant: a, gpus: 1}\n- {tenant: a, gpus: 1, preemptible: false}\n---\ntenant: a\ngpus: 1\npriority_class: high\n",
		"jobs.jsonl": `{"tenant":"a","gpus":1}` + "\n" + `{"tenant":"a","gpus":1,"preemptible":false}` + "\n" + `{"tenant":"a","gpus":1,"priority_class":"high"}` + "\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		jobs, given, err := LoadFileGiven(path)
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
