package state

import (
	"errors"
	"strings"
	"testing"
)

// TestLoadErrors: each bad file gives exactly these messages, each
// naming the line and the field and saying what to do.
func TestLoadErrors(t *testing.T) {
	run := func(extra ...string) string {
		return lines(append([]string{"running:", "  - job: lab-a-sft", "    started: 2026-01-05T08:00:00Z"}, extra...)...)
	}
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"syntax", "running: [\n", []string{`s.yaml:1: invalid YAML: sequence end token ']' not found`}},
		{"not a mapping", "- a\n", []string{`s.yaml:1: must be a mapping with the fields of a state file (got a list)`}},
		{"unknown top field", "now: 2026-01-05T12:00:00Z\nrunnning: []\n",
			[]string{`s.yaml:2: runnning: unknown field; a state file has now, nodes, running, usage, recent_preemptions`}},
		{"two documents", "now: 1\n---\nnow: 2\n", []string{`s.yaml:3: a state file holds one YAML document; remove the second one (after ---)`}},
		{"bad now", "now: tomorrow\n", []string{`s.yaml:1: now: must be an RFC 3339 time such as "2026-01-05T08:00:00Z" or integer Unix seconds (got "tomorrow")`}},
		{"repeated key", "now: 5\nnow: 6\n", []string{`s.yaml:2: invalid YAML: mapping key "now" already defined at [1:1]`}},
		{"unknown job", "running:\n  - {job: nope, started: 1, placement: [h100-1:0]}\n",
			[]string{`s.yaml:2: running[0].job: no job "nope" in the workload; add its spec to a --workload file or fix the id`}},
		{"missing fields", "running:\n  - {job: lab-a-sft}\n", []string{
			`s.yaml:2: running[0]: started is required; give the time the job started (RFC 3339)`,
			`s.yaml:2: running[0]: placement is required; list one "node:gpus" entry per replica, e.g. ["h100-1:0-3"]`}},
		{"unknown field", run("    placement: [h100-1:0-3]", "    gpus: 4"),
			[]string{`s.yaml:5: running[0].gpus: unknown field; a running job has job, started, last_checkpoint, placement, power_cap_w, start_power_cap_w, terminating, evict_at, preempted_for`}},
		{"unknown node", run("    placement: [h100-9:0-3]"),
			[]string{`s.yaml:4: running[0].placement[0]: unknown node "h100-9"; the facility's nodes are h100-1, h100-2, h100-3, h100-4`}},
		{"too few GPUs", run("    placement: [h100-1:0-2]"),
			[]string{`s.yaml:4: running[0].placement[0]: job lab-a-sft runs 4 GPU(s) per replica; this entry lists 3`}},
		{"GPU out of range", run("    placement: [h100-1:5-8]"),
			[]string{`s.yaml:4: running[0].placement[0]: GPU 8 is out of range; node h100-1 has 8 GPUs (0-7)`}},
		{"bad GPU list", run("    placement: [h100-1:3-1]"),
			[]string{`s.yaml:4: running[0].placement[0]: bad GPU list "3-1"; want indices and ranges such as "0-3", "4,5" or "0-1,6"`}},
		{"GPU twice in an entry", run(`    placement: ["h100-1:0-3,3"]`),
			[]string{`s.yaml:4: running[0].placement[0]: GPU 3 is listed twice`}},
		{"no GPUs", run("    placement: [h100-1]"),
			[]string{`s.yaml:4: running[0].placement[0]: want "node:gpus" such as "h100-1:0-3" or "h100-2:4,5"; job lab-a-sft runs 4 GPU(s) per replica (got "h100-1")`}},
		{"gang size", lines("running:", "  - job: lab-b-pretrain", "    started: 2026-01-05T06:00:00Z", "    placement: [h100-1:0-7]"),
			[]string{`s.yaml:4: running[0].placement: job lab-b-pretrain is a gang of 2 replica(s); give exactly 2 entries, one per replica (got 1)`}},
		{"deployment size", lines("running:", "  - {job: chat, started: 1, placement: []}"),
			[]string{`s.yaml:2: running[0].placement: deployment chat has 3 replica(s); give 1 to 3 entries, one per running replica (got 0)`}},
		{"GPU held twice", run("    placement: [h100-1:0-3]", "  - {job: lab-a-eval, started: 1, placement: [\"h100-1:2,3\"]}"),
			[]string{`s.yaml:5: running[1].placement[0]: GPU(s) 2,3 of node h100-1 are already held by running[0] (line 4); a GPU runs one job at a time`}},
		{"job twice", run("    placement: [h100-1:0-3]", "  - {job: lab-a-sft, started: 1, placement: [h100-2:0-3]}"),
			[]string{`s.yaml:5: running[1].job: job "lab-a-sft" is already running (running[0], line 2); list each job once, with all its replicas`}},
		{"CPUs over", run("    placement: [h100-1:0-3]", "  - {job: prep, started: 1, placement: [h100-1]}"),
			[]string{`s.yaml:5: running[1].placement[0]: node h100-1 would hold 148 CPUs of its 112 with the running jobs listed so far`}},
		{"power cap", run("    placement: [h100-1:0-3]", "    power_cap_w: 100"),
			[]string{`s.yaml:5: running[0].power_cap_w: 100 W is outside the H100's settable range 200–700 W`}},
		{"start cap above the cap", run("    placement: [h100-1:0-3]", "    power_cap_w: 400", "    start_power_cap_w: 500"),
			[]string{`s.yaml:6: running[0].start_power_cap_w: 500 W is above power_cap_w (400 W): a recap only lends power above the cap a job started with`}},
		{"start cap out of range", run("    placement: [h100-1:0-3]", "    start_power_cap_w: 100"),
			[]string{`s.yaml:5: running[0].start_power_cap_w: 100 W is outside the H100's settable range 200–700 W`}},
		{"checkpoint before start", run("    placement: [h100-1:0-3]", "    last_checkpoint: 2026-01-05T07:00:00Z"),
			[]string{`s.yaml:5: running[0].last_checkpoint: 2026-01-05T07:00:00Z is before started (2026-01-05T08:00:00Z); a job checkpoints after it starts`}},
		{"evict without terminating", run("    placement: [h100-1:0-3]", "    evict_at: 2026-01-05T12:00:00Z"),
			[]string{`s.yaml:5: running[0].evict_at: needs terminating: true (only a job under notice has an eviction time)`}},
		{"terminating without evict", run("    placement: [h100-1:0-3]", "    terminating: true"),
			[]string{`s.yaml:5: running[0].terminating: needs evict_at: the time the job's notice runs out and it is evicted`}},
		{"preempted for a running job", run("    placement: [h100-1:0-3]", "    terminating: true", "    evict_at: 2026-01-05T12:00:00Z", "    preempted_for: lab-a-sft"),
			[]string{`s.yaml:7: running[0].preempted_for: job "lab-a-sft" runs (running[0], line 2); name a pending job, the one the GPUs are freed for`}},
		{"node twice", "nodes:\n  - {name: h100-1}\n  - {name: h100-1, condition: down}\n",
			[]string{`s.yaml:3: nodes[1].name: node h100-1 is already listed on line 2; give each node one entry`}},
		{"bad condition", "nodes:\n  - {name: h100-1, condition: off}\n",
			[]string{`s.yaml:2: nodes[0].condition: must be up, draining, down or unreachable (got "off")`}},
		{"last tenant alone", "nodes:\n  - {name: h100-1, last_tenant: lab-a}\n",
			[]string{`s.yaml:2: nodes[0].last_tenant: applies to dirty_gpus; list the GPUs the tenant left dirty, or drop last_tenant`}},
		{"dirty GPU out of range", "nodes:\n  - name: h100-1\n    dirty_gpus: [1, 8, 1]\n", []string{
			`s.yaml:3: nodes[0].dirty_gpus[1]: GPU 8 is out of range; node h100-1 has 8 GPUs (0-7)`,
			`s.yaml:3: nodes[0].dirty_gpus[2]: GPU 1 is listed twice`}},
		{"claim without GPUs", "nodes:\n  - {name: h100-1, claimed_by: lab-a-finetune}\n",
			[]string{`s.yaml:2: nodes[0].claimed_by: applies to claimed_gpus (default: dirty_gpus); list the GPUs a preemption freed for the job`}},
		{"down GPU out of range", "nodes:\n  - {name: h100-1, down_gpus: [9]}\n", []string{
			`s.yaml:2: nodes[0].down_gpus[0]: GPU 9 is out of range; node h100-1 has 8 GPUs (0-7)`}},
		{"claimed GPUs alone", "nodes:\n  - {name: h100-1, claimed_gpus: [0]}\n",
			[]string{`s.yaml:2: nodes[0].claimed_gpus: needs claimed_by: the pending job the GPUs are held for`}},
		{"usage", "usage:\n  - {tenant: lab-z, gpu_hours: -1}\n  - {tenant: lab-a, gpu_hours: x, as_of: 1}\n  - {tenant: lab-a, gpu_hours: 1, as_of: 1}\n", []string{
			`s.yaml:2: usage[0].tenant: unknown tenant "lab-z"; the facility's tenants are lab-a, lab-b, interns`,
			`s.yaml:2: usage[0].gpu_hours: must be ≥ 0 (got -1)`,
			`s.yaml:2: usage[0]: as_of is required when the file has no now:; give the time the usage was measured`,
			`s.yaml:3: usage[1].gpu_hours: must be a number such as 12 or 3.5 (got "x")`,
			`s.yaml:4: usage[2].tenant: tenant lab-a already has usage on line 3; give each tenant one entry`}},
		{"usage numbers", "usage:\n  - {tenant: lab-a, gpu_hours: .inf, as_of: 1}\n  - {tenant: lab-b, gpu_hours: 1e3, as_of: 1}\n  - {tenant: interns, gpu_hours: 1e999, as_of: 1}\n", []string{
			`s.yaml:2: usage[0].gpu_hours: .inf is not a finite number`,
			`s.yaml:4: usage[2].gpu_hours: 1e999 is beyond any usable number`}},
		{"preemption times", "recent_preemptions: [2026-01-05T11:00:00.5Z, 0]\n", []string{
			`s.yaml:1: recent_preemptions[0]: must be whole seconds (got "2026-01-05T11:00:00.5Z")`,
			`s.yaml:1: recent_preemptions[1]: must be after 1970-01-01T00:00:00Z and before year 10000 (got 0)`}},
		{"placement not a string", run("    placement: [[h100-1]]"),
			[]string{`s.yaml:4: running[0].placement[0]: must be a string (got a list)`}},
		{"alias", "now: *x\n", []string{`s.yaml:1: alias *x names no anchor defined above it`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fac, jobs := fixture(t)
			st, err := Load("s.yaml", []byte(tc.src), fac, jobs)
			if err == nil {
				t.Fatalf("no error; state %+v", st)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("%T is not an ErrorList: %v", err, err)
			}
			if got, want := err.Error(), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestLoadNeedsFacility(t *testing.T) {
	if _, err := Load("s.yaml", nil, nil, nil); err == nil {
		t.Error("no error without a facility")
	}
}
