package jobspec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestDependsOnTypes: depends_on takes Slurm's afterok, afterany and
// afternotok, as "type:id" or {type: id}, in YAML (block and flow, the
// unquoted type:id included) and JSON Lines; a plain ID is afterok, as
// before. Write gives the plain ID for afterok and "type:id" otherwise,
// which reads back the same.
func TestDependsOnTypes(t *testing.T) {
	ok, anyT, notOK := model.AfterOK, model.AfterAny, model.AfterNotOK
	want := [][]model.Dependency{nil,
		{{Job: "a", Type: ok}},
		{{Job: "a", Type: anyT}, {Job: "b", Type: notOK}, {Job: "c0", Type: ok}},
		{{Job: "a", Type: ok}, {Job: "b", Type: anyT}, {Job: "c", Type: notOK}},
		{{Job: "b", Type: anyT}},
		{{Job: "a", Type: notOK}},
	}
	for name, data := range map[string][]byte{
		"deps.yaml": lines(
			"- {id: a, tenant: acme, gpus: 1}",
			"- {id: b, tenant: acme, gpus: 1, depends_on: afterok:a}",
			"- {id: c, tenant: acme, gpus: 1, depends_on: [afterany:a, {afternotok: b}, c0]}",
			"- id: d",
			"  tenant: acme",
			"  gpus: 1",
			"  depends_on:",
			"    - a",
			"    - afterany: b",
			`    - "afternotok:c"`,
			"- {id: e, tenant: acme, gpus: 1, depends_on: {afterany: b}}",
			`- {id: f, tenant: acme, gpus: 1, depends_on: ["afternotok:a"]}`,
		),
		"deps.jsonl": lines(
			`{"id":"a","tenant":"acme","gpus":1}`,
			`{"id":"b","tenant":"acme","gpus":1,"depends_on":"afterok:a"}`,
			`{"id":"c","tenant":"acme","gpus":1,"depends_on":["afterany:a",{"afternotok":"b"},"c0"]}`,
			`{"id":"d","tenant":"acme","gpus":1,"depends_on":["a",{"afterany":"b"},"afternotok:c"]}`,
			`{"id":"e","tenant":"acme","gpus":1,"depends_on":{"afterany":"b"}}`,
			`{"id":"f","tenant":"acme","gpus":1,"depends_on":["afternotok:a"]}`,
		),
	} {
		jobs, err := Load(name, data, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got [][]model.Dependency
		for _, j := range jobs {
			got = append(got, j.DependsOn)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
		var buf bytes.Buffer
		if err := Write(&buf, jobs); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{`"depends_on":["afterany:a","afternotok:b","c0"]`, `"depends_on":["a","afterany:b","afternotok:c"]`} {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%s written:\n%s\nwant %s", name, buf.String(), w)
			}
		}
		for _, read := range []func(string, []byte) ([]*model.Job, error){
			func(n string, b []byte) ([]*model.Job, error) { return Load(n, b, nil) }, Reload} {
			back, err := read("back.jsonl", buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(jobs, back); diff != "" {
				t.Errorf("%s read back (-want +got):\n%s", name, diff)
			}
		}
	}
}

// TestDependsOnTypeErrors: a type that is none of the three, an item
// naming several jobs, a mapping of several keys, a job named twice
// whatever its types, an empty ID: each refused at its item's line (the
// line of the list where it is written on one), naming the item.
func TestDependsOnTypeErrors(t *testing.T) {
	_, err := Load("deps.yaml", lines(
		"- {id: a, tenant: acme, gpus: 1}",
		"- id: b",
		"  tenant: acme",
		"  gpus: 1",
		"  depends_on:",
		"    - after:a",
		"    - AfterAny: a",
		"    - afterok:a:b",
		"    - {afterany: a, afterok: a}",
		"    - afterany: [a]",
		"- {id: c, tenant: acme, gpus: 1, depends_on: [a, afternotok:a]}",
		"- {id: d, tenant: acme, gpus: 1, depends_on: [afterany: d, afterok: later]}",
		"- {id: e, tenant: acme, gpus: 1, depends_on: [a, \"afterany:\", \"\"]}",
		"- {id: later, tenant: acme, gpus: 1, depends_on: [[a]]}",
	), nil)
	want := []string{
		`deps.yaml:6: jobs[1].depends_on[0]: unknown dependency type "after": afterok (the job succeeded; also a plain ID), afterany (it ended) or afternotok (it failed or was cancelled)`,
		`deps.yaml:7: jobs[1].depends_on[1]: unknown dependency type "AfterAny": afterok (the job succeeded; also a plain ID), afterany (it ended) or afternotok (it failed or was cancelled) (did you mean "afterany"?)`,
		`deps.yaml:8: jobs[1].depends_on[2]: "afterok:a:b" names several jobs: write one item per job, e.g. "afterok:a"`,
		`deps.yaml:9: jobs[1].depends_on[3]: must be a job ID, "type:id" or {type: id}, the type afterok, afterany or afternotok; a mapping holds one type and one job (got 2 keys)`,
		`deps.yaml:10: jobs[1].depends_on[4]: afterany: must be one job ID (got a list); write one item per job`,
		`deps.yaml:11: jobs[2].depends_on[1]: job "a" is listed twice`,
		`deps.yaml:12: jobs[3].depends_on[0]: a job cannot depend on itself ("d")`,
		`deps.yaml:12: jobs[3].depends_on[1]: job "later" comes later in the file (line 14); jobs are submitted in file order, so list it before this one`,
		`deps.yaml:13: jobs[4].depends_on[1]: must not be empty`,
		`deps.yaml:13: jobs[4].depends_on[2]: must not be empty`,
		`deps.yaml:14: jobs[5].depends_on[0]: must be a job ID, "type:id" or {type: id}, the type afterok, afterany or afternotok (got a list)`,
	}
	if diff := cmp.Diff(want, errLines(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestDependsOnDeploymentInTheFile: afterok on a deployment earlier in
// the file is refused at its item's line, as the server and the twin
// refuse it (a deployment runs until stopped, which cancels it);
// afterany and afternotok on it are not.
func TestDependsOnDeploymentInTheFile(t *testing.T) {
	_, err := Load("deps.yaml", lines(
		"- {id: svc, kind: deployment, tenant: acme, gpus: 1}",
		"- {id: a, tenant: acme, gpus: 1, depends_on: [afterany: svc]}",
		"- {id: b, tenant: acme, gpus: 1, depends_on: [a, svc]}",
		"- {id: c, tenant: acme, gpus: 1, depends_on: [afternotok: svc]}",
		"- id: d",
		"  tenant: acme",
		"  gpus: 1",
		"  depends_on:",
		"    - a",
		"    - afterok: svc",
	), nil)
	want := []string{
		`deps.yaml:3: jobs[2].depends_on[1]: "svc" (line 1) is a deployment: it runs until stopped, which ends it cancelled, not succeeded, so afterok would not be met; to start once it ends, write "afterany:svc"`,
		`deps.yaml:10: jobs[4].depends_on[1]: "svc" (line 1) is a deployment: it runs until stopped, which ends it cancelled, not succeeded, so afterok would not be met; to start once it ends, write "afterany:svc"`,
	}
	if diff := cmp.Diff(want, errLines(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestDependsOnItemLines: an item of a block list is named at its own
// line, as gpu_model's are.
func TestDependsOnItemLines(t *testing.T) {
	_, err := Load("deps.yaml", lines(
		"- id: a",
		"  tenant: acme",
		"  gpus: 1",
		"  depends_on:",
		"    - prep",
		"    - a",
	), nil)
	want := []string{`deps.yaml:6: jobs[0].depends_on[1]: a job cannot depend on itself ("a")`}
	if diff := cmp.Diff(want, errLines(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSingleItemLines: the one item of a block list is named at its own
// line, not the field's, in each list with item lines.
func TestSingleItemLines(t *testing.T) {
	_, err := Load("one.yaml", lines(
		"- id: a",
		"  tenant: acme",
		"  gpus: 1",
		"  depends_on:",
		"    - a",
		"  gpu_model:",
		"    - \"\"",
		"  jurisdictions:",
		"    - \"\"",
	), nil)
	want := []string{
		`one.yaml:5: jobs[0].depends_on[0]: a job cannot depend on itself ("a")`,
		`one.yaml:7: jobs[0].gpu_model[0]: must not be empty`,
		`one.yaml:9: jobs[0].jurisdictions[0]: must not be empty`,
	}
	if diff := cmp.Diff(want, errLines(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestReplayRefusesAfterNotOK: the twin's jobs never fail, so its loaders
// (carnot sim, carnot plan) refuse afternotok at its file, line and item;
// afterany they take, and so do LoadFile (carnot schedule, carnot
// workload validate) and Load.
func TestReplayRefusesAfterNotOK(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.yaml")
	data := lines(
		"- {id: train, tenant: acme, gpus: 1, submit_time: 2026-01-05T08:00:00Z}",
		"- {id: eval, tenant: acme, gpus: 1, submit_time: 2026-01-05T08:00:00Z, depends_on: afterany:train}",
		"- id: alert",
		"  tenant: acme",
		"  gpus: 1",
		"  submit_time: 2026-01-05T08:00:00Z",
		"  depends_on:",
		"    - eval",
		"    - afternotok: train",
	)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path, nil); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	want := path + `:9: jobs[2].depends_on[1]: "afternotok:train": the digital twin cannot replay afternotok: its jobs never fail, ` +
		"so this job would never run; leave the job out of the workload to replay, or make it afterany"
	for name, load := range map[string]func() error{
		"LoadFileToReplay": func() error { _, err := LoadFileToReplay(path, nil); return err },
		"LoadFileGiven":    func() error { _, _, err := LoadFileGiven(path, nil, false); return err },
	} {
		if err := load(); err == nil || err.Error() != want {
			t.Errorf("%s: %v\nwant %s", name, err, want)
		}
	}
	if err := os.WriteFile(path, data[:bytes.Index(data, []byte("- id: alert"))], 0o644); err != nil {
		t.Fatal(err)
	}
	if jobs, err := LoadFileToReplay(path, nil); err != nil || len(jobs) != 2 || jobs[1].DependsOn[0].Type != model.AfterAny {
		t.Errorf("LoadFileToReplay of afterany: %v, %v", jobs, err)
	}
}
