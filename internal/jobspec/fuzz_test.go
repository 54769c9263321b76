package jobspec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

// FuzzLoad checks that Load never panics, that every error names the
// file (and a line within it, when it has one), and that whatever loads
// survives Write and a second Load, or a Reload, unchanged.
func FuzzLoad(f *testing.F) {
	examples, _ := filepath.Glob(filepath.Join("..", "..", "examples", "jobs-*.yaml"))
	for _, p := range examples {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, false)
		}
	}
	for _, s := range [][]byte{
		roundTripYAML,
		lines("jobs:", "  - id: a", "    tenant: acme", "    gpus: 1", "    replicas: 0"),
		lines("- &a {tenant: acme, gpus: 1}", "- <<: *a", "  id: x", "---", "- *a"),
		lines("id: [", "---", "gpus: {", "..."),
		lines("%YAML 1.2", "---", "- {id: a, tenant: acme, gpus: 1}", "...", "%TAG ! tag:x:", "# c", "---", "- {id: b, tenant: acme, gpus: 1}", "%x", "---"),
		lines("tenant: !!str 12", "gpus: 0x8", "runtime_limit: 1d", "topology: hall"),
		lines("- {id: a, tenant: acme, gpus: 1, deadline: 2026-01-05T10:00:00Z, runtime_limit: 2h, earliest_start: 1767600000}"),
		[]byte("\t- : -\n? [a]\n: b\n"),
		lines("- {tenant: acme, gpus: 1, env: {A: 1, B: '', C: true, D: 1.5e3}, workdir: /x, restart: on-failure}",
			"- {tenant: acme, gpus: 1, env: {RANK: 0, CARNOT_X: y, 9x: z}, restart: never, max_retries: 2}"),
		lines("env:", "  PATH: /bin", "  E: ~", "workdir: /", "restart: on-failure", "max_retries: 100", "tenant: acme", "gpus: 0"),
		// numbers that are no whole number where one is due
		lines("- {tenant: acme, gpus: 1e3, replicas: .inf, cpus: 99999999999999999999, memory_gib: 9223372036854775808}",
			"- {tenant: acme, gpus: 8.0, runtime_limit: 1.5, checkpoint_grace: .nan, earliest_start: 1.7e9, deadline: 1e400}"),
		// sets with a repeated item
		lines("- {tenant: eu-lab, gpus: 1, gpu_model: [H100, H200, H100], jurisdictions: [EU, FR, EU]}",
			"- tenant: acme", "  gpus: 1", "  gpu_model:", "    - H100", "    - H100", "  command: [x, x]"),
		// dependencies of each type and form
		lines("- {id: a, tenant: acme, gpus: 1}", "- {id: b, tenant: acme, gpus: 1, depends_on: [afterany:a, {afternotok: x}, afterok:y, z]}",
			"- id: c", "  tenant: acme", "  gpus: 1", "  depends_on:", "    - afterany: b", "    - \"afterok:a:b\"", "    - {after: a, afterok: b}"),
	} {
		f.Add(s, false)
	}
	for _, s := range []string{
		`{"id":"a","tenant":"acme","gpus":1}` + "\n" + `{"id":"b","tenant":"eu-lab","gpus":8,"replicas":2,"topology":{"level":"leaf","required":true}}`,
		`{"id":"a\u00e9","tenant":"acme","gpus":1e3}`,
		`{"id":"a","tenant":"acme","gpus":1,"command":["\ud83d\ude00","\\ud800","\ud800\u0041","\udfff"]}`,
		`{"a":[[[[[[1]]]]]],"b":-0.5E+2,"c":null,"d":true}`,
		"{\"id\":\"\xff\"}\n[",
		`{"id":"a","tenant":"acme","gpus":1,"env":{"A":"x","B":"","C":"a\u0000"},"workdir":"/w","restart":"on-failure","max_retries":0}`,
		`{"tenant":"acme","gpus":1,"env":{"A":{"B":[1]},"A":2},"restart":"never","max_retries":3}` + "\n" + `{"tenant":"acme","gpus":1,"env":{}}`,
		`{"tenant":"acme","gpus":1e3,"replicas":1.5,"runtime_limit":1e400,"cpus":99999999999999999999,"submit_time":1.7E9}`,
		`{"tenant":"eu-lab","gpus":1,"gpu_model":["H200","H200"],"jurisdictions":["FR","FR",""]}`,
		`{"id":"a","tenant":"acme","gpus":1,"depends_on":["x","afterany:y",{"afternotok":"z"}]}` + "\n" + `{"tenant":"acme","gpus":1,"depends_on":{"afterany":"a"}}`,
	} {
		f.Add([]byte(s), true)
	}
	fac := testFacility()
	f.Fuzz(func(t *testing.T, data []byte, jsonl bool) {
		name := "fuzz.yaml"
		if jsonl {
			name = "fuzz.jsonl"
		}
		// YAML also breaks lines at a lone CR.
		nlines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
		jobs, err := Load(name, data, fac)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.File != name || e.Msg == "" || e.Line < 0 || e.Line > nlines {
					t.Fatalf("bad error entry %#v (file has %d lines)", e, nlines)
				}
			}
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, jobs); err != nil {
			t.Fatalf("Write: %v", err)
		}
		back, err := Load("back.jsonl", buf.Bytes(), fac)
		if err != nil {
			t.Fatalf("reload of written jobs: %v\n%s", err, buf.String())
		}
		if diff := cmp.Diff(jobs, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		// the server reads its stored specs with Reload, no facility
		stored, err := Reload("stored.jsonl", buf.Bytes())
		if err != nil {
			t.Fatalf("Reload of written jobs: %v\n%s", err, buf.String())
		}
		if diff := cmp.Diff(jobs, stored); diff != "" {
			t.Fatalf("Reload (-want +got):\n%s", diff)
		}
	})
}

// FuzzLoadToReplay: the twin's loader (LoadFileToReplay) never panics on
// a .json, .jsonl or .yaml file, every error names the file and a line
// within it, and every job it gives has a submit time and no data class
// the facility does not define.
func FuzzLoadToReplay(f *testing.F) {
	for _, s := range []string{
		`[{"id":"a","tenant":"acme","gpus":1,"submit_time":"2026-01-05T08:00:00Z"}]`,
		`{"jobs":[{"id":"a","tenant":"acme","gpus":1,"submit_time":1767600000,"data_class":"x"},]}`,
		`{"id":"a","tenant":"acme","gpus":1,"submit_time":"2026-01-05T08:00:00Z"}` + "\n" + `{"id":"b","tenant":"acme","gpus":1}`,
		"\ufeff[{\"id\": \"a\", \"tenant\": \"acme\", \"gpus\": 1, // c\n \"submit_time\": 1}]",
		"- {id: a, tenant: acme, gpus: 1, submit_time: 2026-01-05T08:00:00Z, data_class: personal}\n",
		"- {id: a, tenant: acme, gpus: 1, submit_time: 1}\n- {id: b, tenant: acme, gpus: 1, submit_time: 1, depends_on: [afterany: a, afternotok:a]}\n",
		"[\n", "", "{}", "[]", "null", `"x"`,
	} {
		for ext := range uint8(3) {
			f.Add([]byte(s), ext)
		}
	}
	fac := testFacility()
	f.Fuzz(func(t *testing.T, data []byte, ext uint8) {
		name := "fuzz" + []string{".json", ".jsonl", ".yaml"}[ext%3]
		nlines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
		jobs, _, _, err := loadGiven(name, data, fac, mode{replay: true, twin: true, sim: true})
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.File != name || e.Msg == "" || e.Line < 0 || e.Line > nlines {
					t.Fatalf("bad error entry %#v (file has %d lines)", e, nlines)
				}
			}
			return
		}
		for _, j := range jobs {
			if j.SubmitTime <= 0 || j.DataClass != "" {
				t.Fatalf("job %s: submit time %d, data class %q", j.ID, j.SubmitTime, j.DataClass)
			}
			for _, d := range j.DependsOn {
				if d.Type == model.AfterNotOK {
					t.Fatalf("job %s: %s, which the twin cannot replay", j.ID, d)
				}
			}
		}
	})
}
