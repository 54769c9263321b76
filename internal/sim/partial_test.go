package sim

import (
	"bytes"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestPartialPreemption: a deployment of 4 replicas × 4 GPUs (minimum 2)
// on the whole cluster gives up one replica for a high-priority 4-GPU
// job instead of all four: that replica stops at the end of the notice,
// its GPUs go to the job, the deployment serves on with 3 replicas (its
// GPUs in the energy ledger follow them), scales back up once the job
// has ended, and ends when it would have without the preemption.
func TestPartialPreemption(t *testing.T) {
	d := job("d", "acme", "normal", 4, 4, t0, 4*model.Hour)
	d.Kind, d.MinReplicas = model.KindDeployment, 2
	h := job("h", "beta", "high", 1, 4, t0.Add(model.Hour), model.Hour)
	var log bytes.Buffer
	res, err := Run(Config{Facility: facility(2), Jobs: []*model.Job{d, h}, CheckpointInterval: model.Hour}, &log)
	if err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for _, want := range []string{
		"2026-01-01T01:00:00Z preempt 1 replica(s) of d on n1:[4 5 6 7] for h:",
		"2026-01-01T01:05:00Z evict 1 replica(s) of d\n",
		"2026-01-01T01:05:00Z start h on n1:[4 5 6 7]\n",
		"2026-01-01T02:05:00Z start d on n1:[4 5 6 7]\n",
		"2026-01-01T04:00:00Z complete d\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "evict d ") {
		t.Errorf("d was evicted whole:\n%s", out)
	}
	r := res.Jobs[0]
	if r.Preemptions != 1 || r.End != t0.Add(4*model.Hour) || r.LostGPUSeconds != 0 {
		t.Errorf("d: %d preemptions, ends %s, lost %g GPU-s; want 1, %s, 0", r.Preemptions, r.End, r.LostGPUSeconds, t0.Add(4*model.Hour))
	}
	// GPUs held: 16 to 1h, 12 to 2h05 (the taken replica's 4 until 1h05
	// apart), then 16 again.
	held := map[model.Time]int{}
	for _, s := range r.Runs {
		for at := s.Start; at < s.End; at += 60 {
			held[at] += s.GPUs
		}
	}
	for at, want := range map[model.Time]int{t0: 16, t0.Add(62 * model.Minute): 16, t0.Add(90 * model.Minute): 12, t0.Add(3 * model.Hour): 16} {
		if held[at] != want {
			t.Errorf("d holds %d GPUs at %s, want %d", held[at], at, want)
		}
	}
}
