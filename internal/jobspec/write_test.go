package jobspec

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

var roundTripYAML = lines(
	"- id: train-1",
	"  tenant: eu-lab",
	"  priority_class: low",
	"  replicas: 2",
	"  gpus: 8",
	"  gpu_model: [H100, H200]",
	"  cpus: 96",
	"  memory_gib: 900",
	"  checkpoint_grace: 5m",
	"  runtime_limit: 1d12h",
	"  jurisdictions: [FR, US]",
	"  data_class: personal",
	"  earliest_start: 2026-01-05T08:00:00Z",
	"  deadline: 2026-01-07T08:00:00Z",
	"  topology: {level: nvlink, required: true}",
	"  exclusive_node: true",
	"  submit_time: 2026-01-05T07:00:00Z",
	`  command: [python, "<train>.py", "a\"b", "é"]`,
	"  env:",
	"    ZETA: last",
	"    ALPHA: 1",
	`    QUOTED: "<a href=\"x\">&</a>\ttab"`,
	"    EMPTY: ''",
	"  workdir: /scratch/train-1",
	"  restart: on-failure",
	"- {id: serve, kind: deployment, tenant: acme, priority_class: high, replicas: 4, min_replicas: 2, gpus: 1, topology: node}",
	"- {id: cpu, tenant: acme, gpus: 0, cpus: 2, topology: {level: any, required: true}}",
	"- {tenant: us-co, gpus: 4, preemptible: true}",
	"- {id: retry0, tenant: acme, gpus: 1, restart: on-failure, max_retries: 0, workdir: /}",
	"- {id: never, tenant: acme, gpus: 1, restart: never, env: {}, depends_on: [train-1, retry0]}",
	"- {id: after, tenant: acme, gpus: 1, depends_on: never}",
)

func TestWriteRoundTrip(t *testing.T) {
	for _, fac := range []*model.Facility{nil, testFacility()} {
		jobs, err := Load("rt.yaml", roundTripYAML, fac)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, jobs); err != nil {
			t.Fatal(err)
		}
		for _, f := range []*model.Facility{nil, fac} {
			back, err := Load("rt.jsonl", buf.Bytes(), f)
			if err != nil {
				t.Fatalf("reload: %v\n%s", err, buf.String())
			}
			if diff := cmp.Diff(jobs, back); diff != "" {
				t.Errorf("round trip (fac %v → %v) (-want +got):\n%s", fac != nil, f != nil, diff)
			}
		}
		var again bytes.Buffer
		if err := Write(&again, jobs); err != nil || !bytes.Equal(buf.Bytes(), again.Bytes()) {
			t.Errorf("Write is not deterministic (err %v)", err)
		}
	}
}

func TestWriteFormat(t *testing.T) {
	jobs, err := Load("rt.yaml", lines("- {id: a, tenant: acme, gpus: 1, runtime_limit: 1h, command: [\"<x>\"]}"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, jobs); err != nil {
		t.Fatal(err)
	}
	want := `{"id":"a","tenant":"acme","priority_class":"normal","replicas":1,"gpus":1,"preemptible":false,"runtime_limit":3600,"command":["<x>"]}` + "\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWriteRuntimeFields(t *testing.T) {
	jobs, err := Load("rt.yaml", lines(
		"- {id: a, tenant: acme, gpus: 1, env: {Z: 1, A: '<&>', M: x}, workdir: /w, restart: on-failure}",
		"- {id: b, tenant: acme, gpus: 1, restart: on-failure, max_retries: 0}",
		"- {id: c, tenant: acme, gpus: 1, restart: never}",
	), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, jobs); err != nil {
		t.Fatal(err)
	}
	const head = `"tenant":"acme","priority_class":"normal","replicas":1,"gpus":1,"preemptible":false`
	want := `{"id":"a",` + head + `,"env":{"A":"<&>","M":"x","Z":"1"},"workdir":"/w","restart":"on-failure","max_retries":3}` + "\n" +
		`{"id":"b",` + head + `,"restart":"on-failure","max_retries":0}` + "\n" +
		`{"id":"c",` + head + `}` + "\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
