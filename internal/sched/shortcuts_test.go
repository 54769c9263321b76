package sched_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/sched"
)

// TestShortcutsChangeNoPlan: estimates that skip the release boundaries
// with too few free GPUs (firstEnoughGPUs) and reuse their search's last
// fit give the plans of estimates that probe every boundary and probe
// the fit again.
func TestShortcutsChangeNoPlan(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	reservations, estimates := 0, 0
	for seed := uint64(0); seed < uint64(seeds); seed++ {
		snap, now := genSnapshot(seed)
		sched.SetShortcuts(false)
		want := sched.Schedule(snap, now)
		sched.SetShortcuts(true)
		got := sched.Schedule(snap, now)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("seed %d: the shortcuts changed the plan (-without +with):\n%s", seed, d)
		}
		reservations += len(got.Reservations)
		for _, pe := range got.Pending {
			if pe.EstStart > now {
				estimates++
			}
		}
	}
	if reservations == 0 || estimates == 0 {
		t.Fatalf("the snapshots exercised no estimate (%d reservations, %d estimated starts)", reservations, estimates)
	}
	t.Logf("%d reservations, %d estimated starts", reservations, estimates)
}

// TestVictimSearchShortcuts: the preemption search's candidate scan
// finds the candidates of a scan that reads every allocation, and every
// search that quotaBars settles finds no victims without it; plans are
// the same with and without the shortcut.
func TestVictimSearchShortcuts(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	searches, barred := 0, 0
	for seed := uint64(0); seed < uint64(seeds); seed++ {
		snap, now := genSnapshot(seed)
		s, b, err := sched.CheckVictimSearch(snap, now)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		searches, barred = searches+s, barred+b
		sched.SetQuotaShortcut(false)
		want := sched.Schedule(snap, now)
		sched.SetQuotaShortcut(true)
		got := sched.Schedule(snap, now)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("seed %d: the quota shortcut changed the plan (-without +with):\n%s", seed, d)
		}
	}
	if barred == 0 || barred == searches {
		t.Fatalf("of %d searches with candidates quota barred %d: the snapshots do not exercise both sides", searches, barred)
	}
	t.Logf("%d searches with candidates, %d barred by quota", searches, barred)
}
