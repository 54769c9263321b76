package jobspec

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		data []byte
		fac  *model.Facility
		want []string
	}{{
		name: "range, unknown field, duplicate field",
		file: "jobs.yaml",
		data: lines(
			"jobs:",
			"  - id: a",
			"    tenant: acme",
			"    gpus: 1",
			"  - id: b",
			"    tenant: acme",
			"    gpus: 1",
			"    replicas: 0",
			"    colour: red",
			"    gpu: 3",
		),
		want: []string{
			"jobs.yaml:8: jobs[1].replicas: must be ≥ 1 (got 0)",
			`jobs.yaml:9: jobs[1].colour: unknown field (known fields: checkpoint_grace, command, cpus, data_class, deadline, depends_on, earliest_start, env, exclusive_node, gpu_model, gpus, id, jurisdictions, kind, max_retries, memory_gib, min_replicas, preemptible, priority_class, replicas, restart, runtime_limit, submit_time, tenant, topology, workdir)`,
			`jobs.yaml:10: jobs[1].gpu: unknown field (did you mean "gpus"?)`,
		},
	}, {
		name: "depends_on",
		file: "jobs.yaml",
		data: lines(
			"jobs:",
			"  - id: prep",
			"    tenant: acme",
			"    gpus: 1",
			"  - id: eval",
			"    tenant: acme",
			"    gpus: 1",
			`    depends_on: [prep, train, eval, "bad id", older-job]`,
			"  - id: train",
			"    tenant: acme",
			"    gpus: 1",
			"    depends_on: [prep, prep]",
		),
		want: []string{
			`jobs.yaml:8: jobs[1].depends_on[1]: job "train" comes later in the file (line 9); jobs are submitted in file order, so list it before this one`,
			`jobs.yaml:8: jobs[1].depends_on[2]: a job cannot depend on itself ("eval")`,
			`jobs.yaml:8: jobs[1].depends_on[3]: "bad id" is not a job id: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
			`jobs.yaml:12: jobs[2].depends_on[1]: job "prep" is listed twice`,
		},
	}, {
		// an empty item names no job; the server would refuse it only
		// after the jobs above it in the file were submitted
		name: "depends_on empty",
		file: "jobs.yaml",
		data: lines(
			"- {id: prep, tenant: acme, gpus: 1}",
			`- {id: a, tenant: acme, gpus: 1, depends_on: [prep, ""]}`,
			`- {id: b, tenant: acme, gpus: 1, depends_on: ""}`,
		),
		want: []string{
			"jobs.yaml:2: jobs[1].depends_on[1]: must not be empty",
			"jobs.yaml:3: jobs[2].depends_on[0]: must not be empty",
		},
	}, {
		// Misspellings a hand would make: a letter missing, doubled,
		// swapped or wrong.
		name: "misspelt fields",
		file: "typo.yaml",
		data: lines(
			"- tenat: acme",
			"  gpus: 1",
			"  comand: [sleep, 1]",
			"  replicsa: 2",
			"  priorty_class: high",
			"  runtime_limt: 1h",
			"  Memory_GiB: 4",
			"  enviroment: {A: b}",
		),
		want: []string{
			`typo.yaml:1: jobs[0].tenat: unknown field (did you mean "tenant"?)`,
			"typo.yaml:1: jobs[0].tenant: is required",
			`typo.yaml:3: jobs[0].comand: unknown field (did you mean "command"?)`,
			`typo.yaml:4: jobs[0].replicsa: unknown field (did you mean "replicas"?)`,
			`typo.yaml:5: jobs[0].priorty_class: unknown field (did you mean "priority_class"?)`,
			`typo.yaml:6: jobs[0].runtime_limt: unknown field (did you mean "runtime_limit"?)`,
			`typo.yaml:7: jobs[0].Memory_GiB: unknown field (did you mean "memory_gib"?)`,
			`typo.yaml:8: jobs[0].enviroment: unknown field (did you mean "env"?)`,
		},
	}, {
		name: "types",
		file: "t.yaml",
		data: lines(
			"- id: a",
			"  tenant: [x]",
			"  gpus: two",
			"  preemptible: yes",
			"  runtime_limit: 4 hours",
			"  checkpoint_grace: -30",
			"  submit_time: yesterday",
			"  topology: {level: ring, required: 1, size: 3}",
			"  command: {a: b}",
			"  kind: batch",
			"  cpus: 1.5",
			"  memory_gib: 99999999999999999999",
		),
		want: []string{
			"t.yaml:2: jobs[0].tenant: must be a string (got a list)",
			`t.yaml:3: jobs[0].gpus: must be an integer from 0 to 4096 (got "two")`,
			`t.yaml:4: jobs[0].preemptible: must be true or false (got "yes")`,
			`t.yaml:5: jobs[0].runtime_limit: must be a duration such as "90m", "4h", "2d" or integer seconds (got "4 hours")`,
			"t.yaml:6: jobs[0].checkpoint_grace: must be ≥ 0 (got -30)",
			`t.yaml:7: jobs[0].submit_time: must be an RFC 3339 time such as "2026-01-05T08:00:00Z" or integer Unix seconds (got "yesterday")`,
			`t.yaml:8: jobs[0].topology.level: must be one of node, nvlink, leaf, rack, hall, site, any (got "ring")`,
			"t.yaml:8: jobs[0].topology.required: must be true or false (got 1)",
			`t.yaml:8: jobs[0].topology.size: unknown field (topology has level and required)`,
			"t.yaml:9: jobs[0].command: must be a list of strings (got a mapping)",
			`t.yaml:10: jobs[0].kind: must be job or deployment (got "batch")`,
			"t.yaml:11: jobs[0].cpus: 1.5 is not a whole number; use a whole number from 0 to 1048576",
			"t.yaml:12: jobs[0].memory_gib: 99999999999999999999 is out of range; use a whole number from 0 to 1073741824",
		},
	}, {
		name: "required fields, bad and duplicate ids",
		file: "ids.yaml",
		data: lines(
			"- id: a",
			"  tenant: acme",
			"  gpus: 1",
			"- id: a",
			"  tenant: acme",
			"  gpus: 1",
			"- id: -bad id",
			"- {tenant: acme, gpus: 1}",
			"- {id: ids-4, tenant: acme, gpus: 1}",
		),
		want: []string{
			`ids.yaml:4: jobs[1].id: duplicate id "a": already used by jobs[0] on line 1`,
			`ids.yaml:7: jobs[2].id: must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit (got "-bad id")`,
			"ids.yaml:7: jobs[2].tenant: is required",
			"ids.yaml:7: jobs[2].gpus: is required (GPUs per replica; 0 for CPU-only replicas)",
			`ids.yaml:9: jobs[4].id: duplicate id "ids-4": already used by jobs[3] on line 8`,
		},
	}, {
		name: "window and kinds",
		file: "w.yaml",
		data: lines(
			"- {id: a, tenant: acme, gpus: 1, deadline: 2026-01-05T10:00:00Z}",
			"- {id: b, tenant: acme, gpus: 1, runtime_limit: 1h, earliest_start: 2026-01-05T10:00:00Z, deadline: 2026-01-05T10:00:00Z}",
			"- {id: c, tenant: acme, gpus: 1, runtime_limit: 3h, earliest_start: 2026-01-05T08:00:00Z, deadline: 2026-01-05T10:00:00Z}",
			"- {id: d, tenant: acme, gpus: 1, runtime_limit: 3h, submit_time: 2026-01-05T08:00:00Z, deadline: 2026-01-05T10:00:00Z}",
			"- {id: e, tenant: acme, gpus: 1, min_replicas: 1}",
			"- {id: f, kind: deployment, tenant: acme, gpus: 1, replicas: 2, min_replicas: 3}",
			"- {id: g, kind: deployment, tenant: acme, gpus: 1, runtime_limit: 1h, deadline: 2026-01-05T10:00:00Z}",
			"- {id: h, tenant: '', gpus: 1, gpu_model: [''], earliest_start: 0}",
			// submitted after its deadline, or too late to fit its
			// runtime: accepted when earliest_start was set, as the
			// window was measured from it alone
			"- {id: i, tenant: acme, gpus: 1, runtime_limit: 1h, earliest_start: 2026-01-05T08:00:00Z, deadline: 2026-01-05T10:00:00Z, submit_time: 2026-01-06T00:00:00Z}",
			"- {id: j, tenant: acme, gpus: 1, runtime_limit: 3h, earliest_start: 2026-01-05T06:00:00Z, deadline: 2026-01-05T10:00:00Z, submit_time: 2026-01-05T08:00:00Z}",
		),
		want: []string{
			"w.yaml:1: jobs[0].deadline: needs runtime_limit: the window must be able to hold the job",
			"w.yaml:2: jobs[1].deadline: 2026-01-05T10:00:00Z is not after earliest_start 2026-01-05T10:00:00Z",
			"w.yaml:3: jobs[2].deadline: window 2026-01-05T08:00:00Z..2026-01-05T10:00:00Z is 2h0m0s, shorter than runtime_limit 3h0m0s",
			"w.yaml:4: jobs[3].deadline: window 2026-01-05T08:00:00Z..2026-01-05T10:00:00Z is 2h0m0s, shorter than runtime_limit 3h0m0s",
			"w.yaml:5: jobs[4].min_replicas: applies only to kind: deployment (a job's replicas start together)",
			"w.yaml:6: jobs[5].min_replicas: must be ≤ replicas (2) (got 3)",
			"w.yaml:7: jobs[6].deadline: deployments run until stopped and take no deadline",
			"w.yaml:8: jobs[7].earliest_start: must be after 1970-01-01T00:00:00Z and before year 10000 (got 0)",
			"w.yaml:8: jobs[7].tenant: must not be empty",
			"w.yaml:8: jobs[7].gpu_model[0]: must not be empty",
			"w.yaml:9: jobs[8].deadline: 2026-01-05T10:00:00Z is not after submit_time 2026-01-06T00:00:00Z",
			"w.yaml:10: jobs[9].deadline: window 2026-01-05T08:00:00Z..2026-01-05T10:00:00Z is 2h0m0s, shorter than runtime_limit 3h0m0s",
		},
	}, {
		name: "jurisdiction tags",
		file: "j.yaml",
		data: lines(
			"- {id: a, tenant: acme, gpus: 1, jurisdictions: [EU, 'FR,DE']}",
			"- {id: b, tenant: acme, gpus: 1, jurisdictions: [fr, US-GOV, '']}",
		),
		want: []string{
			`j.yaml:1: jobs[0].jurisdictions[1]: "FR,DE" is not a jurisdiction tag; tags are upper-case words such as EU, FR or US-GOV, one per entry`,
			`j.yaml:2: jobs[1].jurisdictions[0]: "fr" is not a jurisdiction tag; tags are upper-case words such as EU, FR or US-GOV, one per entry`,
			"j.yaml:2: jobs[1].jurisdictions[2]: must not be empty",
		},
	}, {
		name: "block list items on their own lines",
		file: "b.yaml",
		data: lines(
			"- id: a",
			"  tenant: acme",
			"  gpus: 1",
			"  gpu_model:",
			"    - H100",
			"    - ''",
			"  jurisdictions:",
			"    - EU",
			"    - fr",
		),
		want: []string{
			"b.yaml:6: jobs[0].gpu_model[1]: must not be empty",
			`b.yaml:9: jobs[0].jurisdictions[1]: "fr" is not a jurisdiction tag; tags are upper-case words such as EU, FR or US-GOV, one per entry`,
		},
	}, {
		name: "runtime fields",
		file: "rt.yaml",
		data: lines(
			"- id: a",
			"  tenant: acme",
			"  gpus: 1",
			"  env:",
			"    1BAD: x",
			"    RANK: 0",
			"    CARNOT_JOB: x",
			"    EMPTY: ~",
			"    LIST: [a]",
			"    OK: fine",
			"    bad-dash: x",
			"  workdir: relative/dir",
			"  restart: always",
			"  max_retries: 101",
			"- {id: b, tenant: acme, gpus: 1, max_retries: 2}",
			"- {id: c, tenant: acme, gpus: 1, restart: never, max_retries: 2}",
			"- {id: d, tenant: acme, gpus: 1, env: [A=1], workdir: 5, restart: true}",
			"- {id: e, tenant: acme, gpus: 1, environment: {A: 1}, cwd: /x, retries: 2}",
			"- {id: f, tenant: acme, gpus: 1, workdir: '', restart: on-failure, max_retries: -1}",
		),
		want: []string{
			`rt.yaml:5: jobs[0].env: invalid variable name "1BAD": use letters, digits and '_', not starting with a digit`,
			"rt.yaml:6: jobs[0].env: variable RANK is set by the control plane for every replica (reserved: WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, CUDA_VISIBLE_DEVICES and CARNOT_*)",
			"rt.yaml:7: jobs[0].env: variable CARNOT_JOB: names starting with CARNOT_ are reserved for the control plane",
			`rt.yaml:8: jobs[0].env.EMPTY: must be a string (got null); write "" for an empty value`,
			"rt.yaml:9: jobs[0].env.LIST: must be a string, number or boolean (got a list)",
			`rt.yaml:11: jobs[0].env: invalid variable name "bad-dash": use letters, digits and '_', not starting with a digit`,
			`rt.yaml:12: jobs[0].workdir: must be an absolute path such as /home/me/run (got "relative/dir")`,
			`rt.yaml:13: jobs[0].restart: must be never or on-failure (got "always")`,
			"rt.yaml:14: jobs[0].max_retries: must be ≤ 100 (got 101)",
			"rt.yaml:15: jobs[1].max_retries: applies only with restart: on-failure (restart is not set and defaults to never)",
			"rt.yaml:16: jobs[2].max_retries: applies only with restart: on-failure (restart is never)",
			"rt.yaml:17: jobs[3].env: must be a mapping of variable names to values, e.g. {NCCL_DEBUG: INFO} (got a list)",
			"rt.yaml:17: jobs[3].workdir: must be an absolute path such as /home/me/run (got 5)",
			"rt.yaml:17: jobs[3].restart: must be never or on-failure (got true)",
			`rt.yaml:18: jobs[4].environment: unknown field (did you mean "env"?)`,
			`rt.yaml:18: jobs[4].cwd: unknown field (did you mean "workdir"?)`,
			`rt.yaml:18: jobs[4].retries: unknown field (did you mean "max_retries"?)`,
			`rt.yaml:19: jobs[5].workdir: must be an absolute path such as /home/me/run (got "")`,
			"rt.yaml:19: jobs[5].max_retries: must be ≥ 0 (got -1)",
		},
	}, {
		name: "JSONL: runtime fields",
		file: "rt.jsonl",
		data: []byte(`{"id":"a","tenant":"acme","gpus":1,"env":{"A":"1","B":{"x":1},"A":"2"}}` + "\n" +
			`{"id":"b","tenant":"acme","gpus":1,"env":{"WORLD_SIZE":"2","X":"a\u0000b"},"workdir":"/a\u0000"}` + "\n" +
			`{"id":"c","tenant":"acme","gpus":1,"env":{` + manyEnv(40) + `,"V3":"dup"}}` + "\n"),
		want: []string{
			`rt.jsonl:1: invalid JSON: column 63: key "A" appears twice`,
			"rt.jsonl:2: jobs[0].env: variable WORLD_SIZE is set by the control plane for every replica (reserved: WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, CUDA_VISIBLE_DEVICES and CARNOT_*)",
			"rt.jsonl:2: jobs[0].env.X: must not contain a NUL character",
			"rt.jsonl:2: jobs[0].workdir: must not contain a NUL character",
			`rt.jsonl:3: invalid JSON: column 463: key "V3" appears twice`,
		},
	}, {
		name: "facility checks",
		file: "fac.yaml",
		fac:  testFacility(),
		data: lines(
			"- {id: a, tenant: nobody, gpus: 1}",
			"- {id: b, tenant: acme, priority_class: urgent, gpus: 1}",
			"- {id: c, tenant: eu-lab, priority_class: high, gpus: 1}",
			"- {id: d, tenant: acme, gpus: 1, gpu_model: [A100]}",
			"- {id: e, tenant: acme, gpus: 8, gpu_model: H200}",
			"- {id: f, tenant: acme, gpus: 16}",
			"- {id: g, tenant: eu-lab, gpus: 1, jurisdictions: [US]}",
			"- {id: h, tenant: acme, gpus: 1, jurisdictions: [CH]}",
			"- {id: i, tenant: acme, gpus: 1, gpu_model: B200}",
			"- {id: j, tenant: acme, gpus: 8, replicas: 3, gpu_model: H100, cpus: 200, memory_gib: 4096}",
			"- {id: k, tenant: acme, gpus: 1, gpu_model: h100}",
			"- {id: l, tenant: acme, gpus: 1, jurisdictions: [fr]}",
			"- {id: m, tenant: acme, gpus: 0, cpus: 200, memory_gib: 4096}",
			"- {id: n, tenant: acme, gpus: 0, cpus: 112, memory_gib: 2048}",
		),
		want: []string{
			`fac.yaml:1: jobs[0].tenant: unknown tenant "nobody" (the facility has acme, eu-lab, fr-co, us-co)`,
			`fac.yaml:2: jobs[1].priority_class: unknown priority class "urgent" (the facility has high, low, normal)`,
			`fac.yaml:3: jobs[2].priority_class: class "high" is not allowed for tenant eu-lab (allowed: normal, low)`,
			`fac.yaml:4: jobs[3].gpu_model[0]: unknown GPU model "A100" (the facility has B200, H100, H200)`,
			"fac.yaml:5: jobs[4].gpus: 8 GPUs per replica, but no H200 node has more than 4; split the work into more replicas",
			"fac.yaml:6: jobs[5].gpus: 16 GPUs per replica, but no node has more than 8; split the work into more replicas",
			"fac.yaml:7: jobs[6].jurisdictions: no site is both in US and in EU or FR, where tenant eu-lab may run",
			"fac.yaml:8: jobs[7].jurisdictions: no site of the facility is in CH (sites carry DE, EU, FR, US)",
			"fac.yaml:9: jobs[8].gpu_model: no node of the facility has GPU model B200",
			"fac.yaml:10: jobs[9].replicas: needs 24 GPUs (3 × 8) of one GPU model (a gang never mixes models) but the facility holds at most 2 such replicas of H100 (16 GPUs); give fewer replicas",
			"fac.yaml:10: jobs[9].cpus: 200 CPUs per replica, but no H100 node has more than 112",
			"fac.yaml:10: jobs[9].memory_gib: 4096 GiB per replica, but no H100 node has more than 2048",
			`fac.yaml:11: jobs[10].gpu_model[0]: unknown GPU model "h100" (did you mean "H100"? model names are case-sensitive)`,
			`fac.yaml:12: jobs[11].jurisdictions[0]: "fr" is not a jurisdiction tag; tags are upper-case words such as EU, FR or US-GOV, one per entry`,
			// a CPU-only replica may run on any node, and fits none
			"fac.yaml:13: jobs[12].cpus: 200 CPUs per replica, but no node has more than 112",
			"fac.yaml:13: jobs[12].memory_gib: 4096 GiB per replica, but no node has more than 2048",
		},
	}, {
		name: "no default class in the facility",
		file: "nc.yaml",
		fac: func() *model.Facility {
			f := testFacility()
			f.PriorityClasses = f.PriorityClasses[:1]
			return f
		}(),
		data: lines("id: a", "tenant: acme", "gpus: 1"),
		want: []string{`nc.yaml:1: jobs[0].priority_class: is required: the facility has no class "normal" (it has high)`},
	}, {
		// A job that names no GPU model, on a facility with no GPU node
		// (a server whose agents have not registered yet): before, the
		// error named gpu_model, which the job does not set, and listed
		// every model of the catalog as if the job had asked for them.
		name: "no GPU node",
		file: "ng.yaml",
		fac: func() *model.Facility {
			f := testFacility()
			f.Nodes = nil
			return f
		}(),
		data: lines("- {id: a, tenant: acme, gpus: 2}", "- {id: b, tenant: acme, gpus: 1, gpu_model: H100}"),
		want: []string{
			"ng.yaml:1: jobs[0].gpus: 2 GPUs per replica, but no node of the facility has GPUs",
			"ng.yaml:2: jobs[1].gpu_model: no node of the facility has GPU model H100",
		},
	}, {
		name: "YAML syntax error keeps other documents",
		file: "syn.yaml",
		data: lines("id: a", "tenant: acme", "gpus: 1", "---", "id: b", "  tenant: [", "---", "id: c", "gpus: x"),
		want: []string{
			"syn.yaml:5: invalid YAML: mapping value is not allowed in this context",
			"syn.yaml:8: jobs[1].tenant: is required",
			`syn.yaml:9: jobs[1].gpus: must be an integer from 0 to 4096 (got "x")`,
		},
	}, {
		name: "shapes",
		file: "shape.yaml",
		data: lines("jobs: 3", "x: 1", "---", "- 1", "- [a]", "---", "just a string"),
		want: []string{
			"shape.yaml:1: jobs: must be a list of jobs (got 3)",
			`shape.yaml:2: unknown top-level field "x" next to jobs: a file with jobs: holds nothing else; to write shared fields once, anchor them on a job (- &base {...}) and merge them into the others (<<: *base)`,
			"shape.yaml:4: jobs[0]: must be a mapping of job fields (got 1)",
			"shape.yaml:5: jobs[1]: must be a mapping of job fields (got a list)",
			`shape.yaml:7: expected a job, a list of jobs or {jobs: [...]} (got "just a string")`,
		},
	}, {
		name: "aliases and merge keys",
		file: "alias.yaml",
		data: lines("- tenant: *nope", "  gpus: 1", "- <<: 3", "  gpus: 1", "  tenant: a"),
		want: []string{
			"alias.yaml:1: alias *nope names no anchor defined above it",
			"alias.yaml:1: jobs[0].tenant: must be a string (got null)",
			"alias.yaml:3: merge key << needs a mapping or list of mappings (got 3)",
		},
	}, {
		name: "JSONL: physical lines",
		file: "j.jsonl",
		data: []byte("{\"id\":\"a\",\"tenant\":\"acme\",\"gpus\":1}\n\n{\"id\":\"a\",\"tenant\":\"acme\",\"gpus\":1,\"gpus\":2}\n{\"id\":\"b\",\"tenant\":\"acme\",\"gpus\":-1}\n[1]\n{\"id\": \"c\"\n{\"id\":\"a\",\"tenant\":\"acme\",\"gpus\":1}\n"),
		want: []string{
			`j.jsonl:3: invalid JSON: column 36: key "gpus" appears twice`,
			"j.jsonl:4: jobs[1].gpus: must be ≥ 0 (got -1)",
			"j.jsonl:5: each JSONL line must hold one job object (got a list)",
			"j.jsonl:6: invalid JSON: column 11: unexpected end of line, expected ',' or '}'",
			`j.jsonl:7: jobs[2].id: duplicate id "a": already used by jobs[0] on line 1`,
		},
	}, {
		// a value in Latin-1 was read with U+FFFD in place of each byte
		// that is not UTF-8, where JSON Lines refuse it
		name: "YAML: not UTF-8",
		file: "u.yaml",
		data: []byte("- {id: a, tenant: acme, gpus: 1}\n- {id: b, tenant: acme, gpus: 1, command: [echo, \"caf\xe9\"]}\n"),
		want: []string{
			"u.yaml:2: invalid UTF-8 at column 54 (byte 0xe9): save the file as UTF-8",
		},
	}, {
		// a lone UTF-16 surrogate escape became U+FFFD without a word
		// (encoding/json's choice); YAML refuses it
		name: "JSONL: lone surrogate",
		file: "s.jsonl",
		data: []byte(`{"id":"a","tenant":"acme","gpus":1,"command":["echo","x\ud83d\ude00"]}` + "\n" +
			`{"id":"b","tenant":"acme","gpus":1,"command":["echo","x\ud800y"]}` + "\n" +
			`{"id":"c","tenant":"acme","gpus":1,"command":["echo","\uDC00"]}` + "\n"),
		want: []string{
			`s.jsonl:2: invalid JSON: column 56: \ud800 is half of a UTF-16 surrogate pair, no character; write the character itself or both halves`,
			`s.jsonl:3: invalid JSON: column 55: \uDC00 is half of a UTF-16 surrogate pair, no character; write the character itself or both halves`,
		},
	}, {
		// JSON Lines in a .json file read as YAML, and the error spoke
		// of YAML: "j.json:2: invalid YAML: value is not allowed in this
		// context"
		name: "JSON Lines named .json",
		file: "j.json",
		data: []byte("{\"id\":\"a\",\"tenant\":\"acme\",\"gpus\":1}\n\n{\"id\":\"b\",\"tenant\":\"acme\",\"gpus\":1}\r\n"),
		want: []string{
			"j.json:3: a second JSON value: one JSON object per line is JSON Lines; name the file .jsonl (a .json file holds one value, e.g. a list of jobs)",
		},
	}, {
		// a null line was skipped without a word, as if blank: a job
		// its writer failed to serialize was lost
		name: "JSONL: null line",
		file: "n.jsonl",
		data: []byte("{\"id\":\"a\",\"tenant\":\"acme\",\"gpus\":1}\nnull\n{\"id\":\"b\",\"tenant\":\"acme\",\"gpus\":1}\n"),
		want: []string{
			"n.jsonl:2: each JSONL line must hold one job object (got null)",
		},
	}, {
		// The agent execs the argv: an empty program or a NUL byte can
		// only fail there, after the job was accepted and placed.
		name: "command the agent cannot exec",
		file: "cmd.jsonl",
		data: []byte(`{"id":"a","tenant":"acme","gpus":1,"command":[""]}` + "\n" +
			`{"id":"b","tenant":"acme","gpus":1,"command":["python","a\u0000b"]}` + "\n" +
			`{"id":"c","tenant":"acme","gpus":1,"command":["sh","-c",""]}` + "\n"),
		want: []string{
			"cmd.jsonl:1: jobs[0].command[0]: must not be empty: it is the program to run",
			"cmd.jsonl:2: jobs[1].command[1]: must not contain a NUL character",
		},
	}, {
		// PostgreSQL refuses a NUL in text: a job holding one in any
		// string could be accepted on SQLite only, or fail a commit.
		name: "NUL in a string field",
		file: "nul.jsonl",
		data: []byte(`{"id":"a\u0000","tenant":"acme","gpus":1}` + "\n" +
			`{"id":"b","tenant":"acme","gpus":1,"data_class":"x\u0000"}` + "\n" +
			`{"id":"c","tenant":"acme","gpus":1,"jurisdictions":["EU","E\u0000U"]}` + "\n"),
		want: []string{
			"nul.jsonl:1: jobs[0].id: must not contain a NUL character",
			"nul.jsonl:2: jobs[1].data_class: must not contain a NUL character",
			"nul.jsonl:3: jobs[2].jurisdictions[1]: must not contain a NUL character",
			`nul.jsonl:3: jobs[2].jurisdictions[1]: "E\x00U" is not a jurisdiction tag; tags are upper-case words such as EU, FR or US-GOV, one per entry`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, err := Load(tt.file, tt.data, tt.fac)
			if jobs != nil {
				t.Errorf("Load returned %d jobs with errors", len(jobs))
			}
			if diff := cmp.Diff(tt.want, errLines(t, err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// manyEnv is n JSON members "V0":"0", "V1":"1", …
func manyEnv(n int) string {
	ms := make([]string, n)
	for i := range ms {
		ms[i] = fmt.Sprintf(`"V%d":"%d"`, i, i)
	}
	return strings.Join(ms, ",")
}

func TestErrorsAs(t *testing.T) {
	_, err := Load("x.yaml", lines("id: a", "tenant: acme", "gpus: -1"), nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(*Error) failed on %v", err)
	}
	want := &Error{File: "x.yaml", Line: 3, Path: "jobs[0].gpus", Msg: "must be ≥ 0 (got -1)"}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
