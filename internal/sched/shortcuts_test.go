package sched_test

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// TestShortcutsChangeNoPlan: estimates that skip the release boundaries
// with too few free GPUs (firstEnoughGPUs), reuse their search's last
// fit, keep the releases a failed probe applied, leave out the
// releases of power parts their request cannot use and rule out instants
// with too little room (roomUnderHolds) give the plans of
// estimates that probe every boundary, probe the fit again, apply each
// release again after a failed probe and apply every release.
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
	list := []uint64{1099} // a GPU-less victim that reclaim must not take
	for seed := uint64(0); seed < uint64(seeds); seed++ {
		list = append(list, seed)
	}
	for _, seed := range list {
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

// TestPowerParts: two nodes are in one power part exactly when a chain
// of nodes, each sharing a site, hall or rack with the next, joins them
// (a naive closure), also with halls moved across sites.
func TestPowerParts(t *testing.T) {
	for seed := uint64(0); seed < 60; seed++ {
		snap, _ := genSnapshot(seed)
		f := snap.Facility
		rng := rand.New(rand.NewPCG(seed, 7))
		for range rng.IntN(3) { // a node in another site's hall
			f.Nodes[rng.IntN(len(f.Nodes))].Hall = f.Halls[rng.IntN(len(f.Halls))].ID
		}
		got := sched.PowerParts(snap)
		known := map[string]bool{}
		for _, s := range f.Sites {
			known["s:"+s.ID] = true
		}
		for _, h := range f.Halls {
			known["h:"+h.ID] = true
		}
		for _, r := range f.Racks {
			known["r:"+r.ID] = true
		}
		shares := func(a, b *model.Node) bool {
			return a.Site == b.Site && known["s:"+a.Site] || a.Hall == b.Hall && known["h:"+a.Hall] ||
				a.Rack == b.Rack && known["r:"+a.Rack]
		}
		label := make([]int, len(f.Nodes))
		for i := range label {
			label[i] = i
		}
		for changed := true; changed; {
			changed = false
			for i := range f.Nodes {
				for j := range f.Nodes {
					if label[j] < label[i] && shares(&f.Nodes[i], &f.Nodes[j]) {
						label[i], changed = label[j], true
					}
				}
			}
		}
		for i := range f.Nodes {
			for j := range f.Nodes {
				if (label[i] == label[j]) != (got[i] == got[j]) {
					t.Fatalf("seed %d: nodes %s and %s: one part %v, want %v", seed, f.Nodes[i].Name, f.Nodes[j].Name, got[i] == got[j], label[i] == label[j])
				}
			}
		}
	}
}

// TestRoomUnderHolds: the step search's count of the room the holds
// leave never rules out an instant at which the probe, holds applied,
// finds a placement, for holds on free and busy GPUs, requests of any
// size and power headrooms near the limit; and it does rule some out.
func TestRoomUnderHolds(t *testing.T) {
	checks, ruledOut := 0, 0
	for seed := uint64(0); seed < 200; seed++ {
		snap, now := genSnapshot(seed)
		c, r, wrong := sched.CheckRoomUnderHolds(snap, now, seed)
		if wrong != "" {
			t.Fatalf("seed %d: %s", seed, wrong)
		}
		checks, ruledOut = checks+c, ruledOut+r
	}
	if ruledOut == 0 || ruledOut == checks {
		t.Fatalf("%d of %d instants ruled out: the draws do not exercise both sides", ruledOut, checks)
	}
	t.Logf("%d of %d instants ruled out", ruledOut, checks)
}
