package jobspec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

// job is a builder for expected jobs: the defaults Load applies, then fn.
func job(id, tenant string, gpus int, fn ...func(*model.Job)) *model.Job {
	j := &model.Job{
		ID: id, Kind: model.KindJob, Tenant: tenant, PriorityClass: "normal",
		Replicas: 1, MinReplicas: 1, GPUsPerReplica: gpus,
		Topology: DefaultTopology,
	}
	for _, f := range fn {
		f(j)
	}
	return j
}

const t0 = model.Time(1767600000) // 2026-01-05T08:00:00Z

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		file string
		data []byte
		fac  *model.Facility
		want []*model.Job
	}{{
		name: "single job with defaults",
		file: "one.yaml",
		data: lines("id: a", "tenant: acme", "gpus: 1"),
		want: []*model.Job{job("a", "acme", 1)},
	}, {
		name: "every field",
		file: "full.yaml",
		data: lines(
			"id: train-1",
			"kind: job",
			"tenant: eu-lab",
			"priority_class: low",
			"replicas: 2",
			"gpus: 8",
			"gpu_model: [H100, H200]",
			"cpus: 96",
			"memory_gib: 900",
			"checkpoint_grace: 5m",
			"runtime_limit: 1d12h",
			"jurisdictions: [FR, US]",
			"data_class: personal",
			"earliest_start: 2026-01-05T08:00:00Z",
			"deadline: 1767772800",
			"topology: {level: nvlink, required: true}",
			"exclusive_node: true",
			"submit_time: 2026-01-05T07:00:00+00:00",
			"command: [python, train.py, --lr=3e-4]",
			"env: {NCCL_DEBUG: INFO, OMP_NUM_THREADS: 8}",
			"workdir: /scratch/train-1",
			"restart: on-failure",
			"max_retries: 5",
		),
		fac: testFacility(),
		want: []*model.Job{job("train-1", "eu-lab", 8, func(j *model.Job) {
			j.PriorityClass, j.Replicas, j.MinReplicas = "low", 2, 2
			j.GPUModels = []string{"H100", "H200"}
			j.CPUsPerReplica, j.MemGiBPerReplica = 96, 900
			j.Preemptible = true // from the class
			j.CheckpointGrace, j.RuntimeLimit = 5*model.Minute, 36*model.Hour
			j.Jurisdictions = []string{"FR"} // narrowed by the tenant
			j.DataClass = "personal"
			j.EarliestStart, j.Deadline = t0, t0+48*3600
			j.Topology = model.Topology{Level: model.LevelNVLink, Required: true}
			j.ExclusiveNode = true
			j.SubmitTime = t0 - 3600
			j.Command = []string{"python", "train.py", "--lr=3e-4"}
			j.Env = map[string]string{"NCCL_DEBUG": "INFO", "OMP_NUM_THREADS": "8"}
			j.WorkDir = "/scratch/train-1"
			j.Restart = model.RestartPolicy{OnFailure: true, MaxRetries: 5}
		})},
	}, {
		name: "runtime fields: scalars as written, default max_retries, empty env",
		file: "rt.yaml",
		data: lines(
			"- id: a",
			"  tenant: acme",
			"  gpus: 1",
			"  env:",
			"    DEBUG: 1",
			"    VERBOSE: true",
			"    LR: 3.0e-4",
			"    MODE: 0x10",
			"    EMPTY: ''",
			"    _lower_ok: 'a b'",
			"  restart: on-failure",
			"- {id: b, tenant: acme, gpus: 1, env: {}, restart: never}",
			"- {id: c, tenant: acme, gpus: 1, env: ~, restart: on-failure, max_retries: 0}",
		),
		want: []*model.Job{
			job("a", "acme", 1, func(j *model.Job) {
				j.Env = map[string]string{"DEBUG": "1", "VERBOSE": "true", "LR": "3.0e-4", "MODE": "0x10", "EMPTY": "", "_lower_ok": "a b"}
				j.Restart = model.RestartPolicy{OnFailure: true, MaxRetries: DefaultMaxRetries}
			}),
			job("b", "acme", 1),
			job("c", "acme", 1, func(j *model.Job) { j.Restart.OnFailure = true }),
		},
	}, {
		name: "JSONL: env object, many variables",
		file: "env.jsonl",
		data: []byte(`{"id":"a","tenant":"acme","gpus":1,"env":{"A":"x","B":2,"C":false},"workdir":"/w","restart":"on-failure","max_retries":1}` + "\n" +
			`{"id":"b","tenant":"acme","gpus":1,"env":{` + manyEnv(40) + `}}` + "\n"),
		want: []*model.Job{
			job("a", "acme", 1, func(j *model.Job) {
				j.Env = map[string]string{"A": "x", "B": "2", "C": "false"}
				j.WorkDir = "/w"
				j.Restart = model.RestartPolicy{OnFailure: true, MaxRetries: 1}
			}),
			job("b", "acme", 1, func(j *model.Job) {
				j.Env = map[string]string{}
				for i := range 40 {
					j.Env[fmt.Sprintf("V%d", i)] = fmt.Sprint(i)
				}
			}),
		},
	}, {
		name: "list, deployment, topology shorthand, explicit preemptible",
		file: "list.yaml",
		data: lines(
			"- {id: a, tenant: acme, gpus: 0, cpus: 4}",
			"- id: serve",
			"  kind: deployment",
			"  tenant: acme",
			"  priority_class: high",
			"  replicas: 4",
			"  min_replicas: 2",
			"  gpus: 1",
			"  gpu_model: H200",
			"  preemptible: true",
			"  topology: leaf",
		),
		fac: testFacility(),
		want: []*model.Job{
			job("a", "acme", 0, func(j *model.Job) { j.CPUsPerReplica = 4 }),
			job("serve", "acme", 1, func(j *model.Job) {
				j.Kind, j.PriorityClass, j.Replicas, j.MinReplicas = model.KindDeployment, "high", 4, 2
				j.GPUModels, j.Preemptible = []string{"H200"}, true
				j.Topology = model.Topology{Level: model.LevelLeaf}
			}),
		},
	}, {
		name: "jurisdictions narrowed over sites",
		file: "j.yaml",
		data: lines(
			"- {id: a, tenant: eu-lab, gpus: 1, jurisdictions: [DE, US]}",
			"- {id: b, tenant: fr-co, gpus: 1, jurisdictions: [EU]}",
			"- {id: c, tenant: acme, gpus: 1, jurisdictions: [CH, US]}",
			"- {id: d, tenant: fr-co, gpus: 1, jurisdictions: [FR, EU]}",
		),
		// a node at ber, a's only site: without one, a would never start,
		// and is refused (TestGangLargerThanItsSites)
		fac: func() *model.Facility {
			f := testFacility()
			f.Nodes = append(f.Nodes, model.Node{Name: "h100-ber", Site: "ber", GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048})
			return f
		}(),
		want: []*model.Job{
			job("a", "eu-lab", 1, func(j *model.Job) { j.Jurisdictions = []string{"DE"} }),
			// none of its tags is wholly fr-co's: it keeps its own EU
			// (the tenant's FR applies at placement); its list never
			// gains the tenant's tags, which a later facility could
			// widen beyond EU
			job("b", "fr-co", 1, func(j *model.Job) { j.Jurisdictions = []string{"EU"} }),
			job("c", "acme", 1, func(j *model.Job) { j.Jurisdictions = []string{"CH", "US"} }),
			job("d", "fr-co", 1, func(j *model.Job) { j.Jurisdictions = []string{"FR"} }),
		},
	}, {
		name: "multi-document with jobs wrapper, auto ids, anchors and merge keys",
		file: "dir/my jobs.yml",
		data: lines(
			"jobs:",
			"  - &small {tenant: acme, gpus: 1, runtime_limit: 3600}",
			"  - <<: *small",
			"    gpus: 2",
			"---",
			"# a comment-only document follows",
			"---",
			"tenant: acme",
			"gpus: 4",
		),
		want: []*model.Job{
			job("my-jobs-1", "acme", 1, func(j *model.Job) { j.RuntimeLimit = model.Hour }),
			job("my-jobs-2", "acme", 2, func(j *model.Job) { j.RuntimeLimit = model.Hour }),
			job("my-jobs-3", "acme", 4),
		},
	}, {
		name: "JSON array",
		file: "jobs.json",
		data: lines(`[{"id": "a", "tenant": "acme", "gpus": 1, "runtime_limit": "90m"},`, ` {"id": "b", "tenant": "acme", "gpus": 2}]`),
		want: []*model.Job{
			job("a", "acme", 1, func(j *model.Job) { j.RuntimeLimit = 90 * model.Minute }),
			job("b", "acme", 2),
		},
	}, {
		name: "JSONL with blank lines, escapes and CRLF",
		file: "jobs.jsonl",
		data: []byte("{\"id\":\"a\",\"tenant\":\"acme\",\"gpus\":1,\"command\":[\"echo\",\"\\u00e9\\\"x\\\"\"]}\r\n\n  \n{\"id\":\"b\",\"tenant\":\"acme\",\"gpus\":2,\"topology\":{\"level\":\"rack\",\"required\":false}}"),
		want: []*model.Job{
			job("a", "acme", 1, func(j *model.Job) { j.Command = []string{"echo", `é"x"`} }),
			job("b", "acme", 2, func(j *model.Job) { j.Topology.Level = model.LevelRack }),
		},
	}, {
		name: "byte-order mark",
		file: "bom.jsonl",
		data: []byte("\xef\xbb\xbf{\"id\":\"a\",\"tenant\":\"acme\",\"gpus\":1}\n"),
		want: []*model.Job{job("a", "acme", 1)},
	}, {
		name: "empty file",
		file: "empty.yaml",
		data: nil,
		want: []*model.Job{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.file, tt.data, tt.fac)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]model.Duration{
		"0": 0, "3600": model.Hour, "90m": 90 * model.Minute, "4h": 4 * model.Hour,
		"2d": 2 * model.Day, "1d12h": 36 * model.Hour, "1h30m15s": 5415, "1.5h": 5400,
	} {
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "-5m", "1.5s", "5x", "d", "1d-1h", "2d2d", "1000000d", "500ms"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %d, want an error", in, got)
		}
	}
}

func TestDataClass(t *testing.T) {
	fac := testFacility()
	fac.DataClasses = map[string][]string{"health": {"FR"}}
	data := lines(
		"- id: a",
		"  tenant: acme",
		"  gpus: 1",
		"  data_class: health",
		"- id: b",
		"  tenant: acme",
		"  gpus: 1",
		"  data_class: secret",
	)
	_, err := Load("jobs.yaml", data, fac)
	want := `jobs.yaml:8: [1].data_class: unknown data class "secret" (the facility has health)`
	if err == nil || !strings.Contains(err.Error(), "unknown data class \"secret\"") || !strings.Contains(err.Error(), "jobs.yaml:8:") {
		t.Fatalf("got %v, want %s", err, want)
	}
	fac.DataClasses = nil // without declared classes, the class is only reported
	if _, err := Load("jobs.yaml", data, fac); err != nil {
		t.Fatal(err)
	}
}

// TestYAMLDirective: a YAML directive ("%YAML 1.2") belongs to the
// document after it. Documents were split at each "---" before parsing,
// which left the directive alone, and the file was refused with
// "jobs.yaml:1: invalid YAML: unexpected directive value. document not
// started"; a directive after "..." inside the file was refused too.
func TestYAMLDirective(t *testing.T) {
	data := lines("%YAML 1.2", "---", "- {id: a, tenant: acme, gpus: 1}", "...", "%YAML 1.2", "---", "- {id: b, tenant: acme, gpus: 2}")
	jobs, err := Load("jobs.yaml", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].ID != "a" || jobs[1].ID != "b" || jobs[1].GPUsPerReplica != 2 {
		t.Fatalf("got %d jobs %v", len(jobs), jobs)
	}
	// lines stay those of the file
	data = lines("%YAML 1.2", "---", "- {id: a, tenant: acme, gpus: 1}", "...", "%YAML 1.2", "---", "- {id: b, tenant: acme, gpus: x}")
	_, err = Load("jobs.yaml", data, nil)
	if want := `jobs.yaml:7: jobs[1].gpus: must be an integer from 0 to 4096 (got "x")`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
