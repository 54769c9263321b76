package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A deployment's minimum is a count of replicas, said after the per-replica
// sizes: before, "per replica" was appended after it ("4 × 2 GPUs, at least
// 2 replicas per replica").
func TestDescribeDeploymentMinReplicas(t *testing.T) {
	f := newFake(t)
	start := time.Now().Add(-time.Minute)
	f.jobs = []api.Job{{ID: "d", Kind: "deployment", Tenant: "lab-a", State: api.StateRunning,
		Spec:       json.RawMessage(`{"kind":"deployment","replicas":4,"min_replicas":2,"gpus":2,"cpus":8,"command":["serve"]}`),
		SubmitTime: start, StartTime: &start, Attempt: 1}}
	code, out, errs := carnot("describe", "--server", f.srv.URL, "d")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "Resources:       4 × 2 GPUs, 8 CPUs per replica; at least 2 replicas\n"
	if !strings.Contains(out, want) {
		t.Errorf("describe output lacks %q:\n%s", want, out)
	}
	// one is a replica, not "1 replicas", and a CPU, not "1 CPUs"
	f.jobs[0].Spec = json.RawMessage(`{"kind":"deployment","replicas":4,"min_replicas":1,"gpus":4,"cpus":1,"command":["serve"]}`)
	if _, out, _ := carnot("describe", "--server", f.srv.URL, "d"); !strings.Contains(out, "Resources:       4 × 4 GPUs, 1 CPU per replica; at least 1 replica\n") {
		t.Errorf("describe output lacks '1 CPU' and 'at least 1 replica':\n%s", out)
	}
	// and one GPU is a GPU, not "1 × 1 GPUs"
	f.jobs[0].Spec = json.RawMessage(`{"kind":"job","gpus":1,"command":["train"]}`)
	if _, out, _ := carnot("describe", "--server", f.srv.URL, "d"); !strings.Contains(out, "Resources:       1 × 1 GPU per replica\n") {
		t.Errorf("describe output lacks '1 × 1 GPU per replica':\n%s", out)
	}
}

// A preemption shows when the replicas get SIGKILL and what they make room
// for: on the job while it is preempted as a whole, on the replicas a
// partial preemption takes from a deployment. Before, describe showed
// neither, and the leaving replicas as plainly running.
func TestDescribeShowsPreemptionDeadline(t *testing.T) {
	f := newFake(t)
	start := time.Now().Add(-time.Minute)
	by := time.Now().Add(50 * time.Second)
	f.jobs = []api.Job{
		{ID: "j", Kind: "job", Tenant: "lab-a", State: api.StatePreempting, Spec: json.RawMessage(`{"gpus":2}`),
			SubmitTime: start, StartTime: &start, Attempt: 1, PreemptedFor: "hp1", StopBy: &by,
			Replicas: []api.Replica{{Index: 0, Node: "n1", GPUs: []int{0, 1}, State: api.ReplicaRunning, PID: 9, StartedAt: &start}}},
		{ID: "d", Kind: "deployment", Tenant: "lab-a", State: api.StateRunning, Spec: json.RawMessage(`{"kind":"deployment","replicas":2,"gpus":2}`),
			SubmitTime: start, StartTime: &start, Attempt: 1,
			Replicas: []api.Replica{
				{Index: 0, Node: "n1", GPUs: []int{0, 1}, State: api.ReplicaRunning, PID: 10, StartedAt: &start},
				{Index: 1, Rank: 1, Node: "n1", GPUs: []int{2, 3}, State: api.ReplicaRunning, PID: 11, StartedAt: &start,
					StopBy: &by, PreemptedFor: "hp1"},
			}},
	}
	for _, tc := range []struct{ id, want string }{
		{"j", "Stopping:        by " + by.UTC().Format(time.RFC3339) + " (in 50s), preempted for hp1\n"},
		{"d", "  0        0     n1    0,1   10   running                         -     -    1m ago   -\n"},
		{"d", "  1        1     n1    2,3   11   leaving (for hp1, stop in 50s)  -     -    1m ago   -\n"},
	} {
		code, out, errs := carnot("describe", "--server", f.srv.URL, tc.id)
		if code != 0 {
			t.Fatalf("describe %s: exit %d: %s", tc.id, code, errs)
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("describe %s lacks %q:\n%s", tc.id, tc.want, out)
		}
	}
}

// A job cancelled while it was being preempted says it is cancelled, and
// whom its GPUs go to: "Stopping: …, preempted for hp1" read as if the
// preemption alone stopped it.
func TestDescribeCancelledWhilePreempted(t *testing.T) {
	f := newFake(t)
	start := time.Now().Add(-time.Minute)
	by := time.Now().Add(50 * time.Second)
	f.jobs = []api.Job{
		{ID: "j", Kind: "job", Tenant: "lab-a", State: api.StateCancelling, Spec: json.RawMessage(`{"gpus":2}`),
			SubmitTime: start, StartTime: &start, Attempt: 1, PreemptedFor: "hp1", StopBy: &by},
		{ID: "k", Kind: "job", Tenant: "lab-a", State: api.StateCancelling, Spec: json.RawMessage(`{"gpus":2}`),
			SubmitTime: start, StartTime: &start, Attempt: 1, StopBy: &by},
	}
	for id, want := range map[string]string{
		"j": "Stopping:        by " + by.UTC().Format(time.RFC3339) + " (in 50s), cancelled while preempted for hp1 (its GPUs go to hp1)\n",
		"k": "Stopping:        by " + by.UTC().Format(time.RFC3339) + " (in 50s), cancelled\n",
	} {
		code, out, errs := carnot("describe", "--server", f.srv.URL, id)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("describe %s: exit %d %s; lacks %q:\n%s", id, code, errs, want, out)
		}
	}
}
