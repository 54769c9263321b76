package sim

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

// With PassEvery, events happen at their time but the core runs at most
// once per interval. TestEventLog's jobs (h1 arriving at 00:44) with
// passes at least 10 minutes apart: a2's arrival at 00:01 waits for the
// pass at 00:10; the GPUs a1's eviction frees at 00:49 stay idle until
// the pass at 00:54, which starts h1 five minutes later than a pass at
// every event would; h1's completion at 01:24, 30 minutes after the last
// pass, gets a pass at once.
func TestPassEvery(t *testing.T) {
	jobs := []*model.Job{
		job("a1", "acme", "normal", 1, 8, t0, 2*model.Hour),
		job("b1", "beta", "normal", 1, 8, t0, 90*model.Minute),
		job("a2", "acme", "normal", 2, 8, t0+60, model.Hour),
		job("h1", "beta", "high", 1, 8, t0.Add(44*model.Minute), 30*model.Minute),
	}
	run := func(every model.Duration) (*Result, string) {
		var log bytes.Buffer
		res, err := Run(Config{Facility: facility(2), Jobs: jobs, CheckpointInterval: 30 * model.Minute, PassEvery: every}, &log)
		if err != nil {
			t.Fatal(err)
		}
		return res, log.String()
	}
	res, log := run(10 * model.Minute)
	want := `2026-01-01T00:00:00Z arrive a1
2026-01-01T00:00:00Z arrive b1
2026-01-01T00:00:00Z start a1 on n1:[0 1 2 3 4 5 6 7]
2026-01-01T00:00:00Z start b1 on n2:[0 1 2 3 4 5 6 7]
2026-01-01T00:01:00Z arrive a2
2026-01-01T00:44:00Z arrive h1
2026-01-01T00:44:00Z preempt a1 for h1: priority 100 preempts 0 (evict at 2026-01-01T00:49:00Z)
2026-01-01T00:49:00Z evict a1 (lost 19m0s of work; 1h30m0s left)
2026-01-01T00:54:00Z start h1 on n1:[0 1 2 3 4 5 6 7]
2026-01-01T01:24:00Z complete h1
2026-01-01T01:24:00Z start a1 on n1:[0 1 2 3 4 5 6 7]
2026-01-01T01:30:00Z complete b1
2026-01-01T02:54:00Z complete a1
2026-01-01T02:54:00Z start a2 on n1:[0 1 2 3 4 5 6 7] n2:[0 1 2 3 4 5 6 7]
2026-01-01T03:54:00Z complete a2
`
	if d := cmp.Diff(want, log); d != "" {
		t.Errorf("event log with passes 10 minutes apart (-want +got):\n%s", d)
	}
	// passes at 00:00, 00:10 (a2's arrival), 00:44, 00:54 (the eviction),
	// 01:24, 01:34 (b1's completion), 02:54, 03:54
	if res.Passes != 8 {
		t.Errorf("%d passes, want 8", res.Passes)
	}
	if every, _ := run(0); every.Jobs[3].FirstStart != t0.Add(49*model.Minute) || res.Jobs[3].FirstStart != t0.Add(54*model.Minute) {
		t.Errorf("h1 starts at %s with a pass at every event and %s with PassEvery; want 00:49 and 00:54",
			every.Jobs[3].FirstStart, res.Jobs[3].FirstStart)
	}
	if again, log2 := run(10 * model.Minute); log2 != log || again.Passes != res.Passes {
		t.Error("the same run with PassEvery twice differs")
	}
}
