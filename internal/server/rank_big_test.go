package server

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// oldCrashLoop is the record an earlier version kept of a deployment of
// width replicas that replaced one n times, a minute apart, without
// ranks (each 0).
func oldCrashLoop(width, n int) []api.Replica {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	rs := make([]api.Replica, 0, width+n)
	for i := range width + n {
		at := t0
		if i >= width {
			at = t0.Add(time.Duration(i-width+1) * time.Minute)
		}
		r := api.Replica{Index: i, State: api.ReplicaRunning, AssignedAt: ptrTime(at)}
		if i < n { // replaced by the replica width after it
			r.State, r.Released = api.ReplicaExited, true
			r.EndedAt = ptrTime(t0.Add(time.Duration(i+1) * time.Minute))
		}
		rs = append(rs, r)
	}
	return rs
}

// A server loading the record of a deployment an earlier version
// replaced a replica of every minute for two months gives its replicas
// their ranks at once (before, a scan of the replicas before each took
// 72 s for this record on a shared 2-core machine, all of it before the
// server served anything).
func TestRestoreRanksOfAHugeOldRecord(t *testing.T) {
	js := &jobState{job: &model.Job{Replicas: 4}, doc: api.Job{Replicas: oldCrashLoop(4, 100_000)}}
	start := time.Now()
	restoreRanks(js)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("ranks of 100,004 replicas derived in %s; want well under 10s", took)
	}
	live := map[int]bool{}
	for _, r := range js.doc.Replicas {
		if !r.Released {
			live[r.Rank] = true
		}
	}
	if len(live) != 4 || !live[0] || !live[3] {
		t.Errorf("the live replicas' ranks %v; want 0–3", live)
	}
}

// naiveRanks is restoreRanks' derivation as its rule says it, for
// comparison: each replica the lowest rank not held, when it was
// assigned, by a replica before it.
func naiveRanks(rs []api.Replica) []int {
	out := make([]int, len(rs))
	for k := range rs {
		var held []int
		for j := range k {
			r := &rs[j]
			freed := r.EndedAt != nil && r.ReplaceAt == nil && rs[k].AssignedAt != nil && !r.EndedAt.After(*rs[k].AssignedAt)
			if !freed {
				held = append(held, out[j])
			}
		}
		for slices.Contains(held, out[k]) {
			out[k]++
		}
	}
	return out
}

// The sweep gives the ranks the rule gives, on random records of older
// versions: replicas without an assignment time first (older still),
// then assigned in order, each ended, backing off, released or live.
func TestRestoreRanksMatchesTheRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for round := range 2000 {
		n := 2 + rng.IntN(12)
		rs := make([]api.Replica, n)
		at := t0
		untimed := rng.IntN(n)
		for i := range rs {
			rs[i] = api.Replica{Index: i, State: api.ReplicaRunning}
			if i >= untimed {
				at = at.Add(time.Duration(rng.IntN(3)) * time.Minute)
				rs[i].AssignedAt = ptrTime(at)
			}
			switch rng.IntN(4) {
			case 0: // released
				rs[i].State, rs[i].Released = api.ReplicaExited, true
				rs[i].EndedAt = ptrTime(at.Add(time.Duration(rng.IntN(5)) * time.Minute))
			case 1: // backing off
				rs[i].State, rs[i].ReplaceAt = api.ReplicaExited, ptrTime(at.Add(time.Hour))
				rs[i].EndedAt = ptrTime(at.Add(time.Duration(rng.IntN(5)) * time.Minute))
			case 2: // ended, not marked released
				rs[i].State = api.ReplicaExited
				rs[i].EndedAt = ptrTime(at.Add(time.Duration(rng.IntN(5)) * time.Minute))
			}
		}
		want := naiveRanks(rs)
		got := slices.Clone(rs)
		deriveRanks(got)
		for i, r := range got {
			if r.Rank != want[i] {
				t.Fatalf("round %d: ranks %v; the rule gives %v (record %+v)", round, ranksOf(got), want, rs)
			}
		}
	}
}

func ranksOf(rs []api.Replica) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = r.Rank
	}
	return out
}
