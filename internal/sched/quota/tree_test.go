package quota

import (
	"math/rand"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

func q(nominal int, limits ...int) map[string]model.Quota {
	out := model.Quota{Nominal: nominal}
	if len(limits) > 0 && limits[0] >= 0 {
		b := limits[0]
		out.BorrowingLimit = &b
	}
	if len(limits) > 1 && limits[1] >= 0 {
		l := limits[1]
		out.LendingLimit = &l
	}
	return map[string]model.Quota{"H100": out}
}

type use struct {
	tenant string
	delta  int64
}

// TestTreeKueueCohorts checks Available against Kueue's cohort semantics
// (pkg/cache/scheduler/resource_node.go): guaranteed = nominal − lending
// limit, a cohort's subtree quota is its own plus what children lend,
// usage beyond guaranteed bubbles up, and a borrowing limit caps what a
// node takes from its parent beyond its own subtree.
func TestTreeKueueCohorts(t *testing.T) {
	const none = -1
	tests := []struct {
		name    string
		cohorts []model.Cohort
		tenants []model.Tenant
		uses    []use
		want    map[string]int64
	}{
		{
			name:    "lone tenant: nominal only",
			tenants: []model.Tenant{{Name: "a", Quota: q(8)}},
			uses:    []use{{"a", 3}},
			want:    map[string]int64{"a": 5},
		},
		{
			name:    "lone tenant without quota gets nothing",
			tenants: []model.Tenant{{Name: "a"}},
			want:    map[string]int64{"a": 0},
		},
		{
			name:    "cohort: borrow all unused nominal of a sibling",
			cohorts: []model.Cohort{{Name: "c"}},
			tenants: []model.Tenant{{Name: "a", Cohort: "c", Quota: q(8)}, {Name: "b", Cohort: "c", Quota: q(8)}},
			want:    map[string]int64{"a": 16, "b": 16},
		},
		{
			name:    "cohort: a sibling's use shrinks what is left to borrow",
			cohorts: []model.Cohort{{Name: "c"}},
			tenants: []model.Tenant{{Name: "a", Cohort: "c", Quota: q(8)}, {Name: "b", Cohort: "c", Quota: q(8)}},
			uses:    []use{{"b", 12}},
			want:    map[string]int64{"a": 4, "b": 4},
		},
		{
			name:    "borrowing limit caps borrowing",
			cohorts: []model.Cohort{{Name: "c"}},
			tenants: []model.Tenant{{Name: "a", Cohort: "c", Quota: q(8, 2)}, {Name: "b", Cohort: "c", Quota: q(8)}},
			want:    map[string]int64{"a": 10, "b": 16},
		},
		{
			name:    "borrowing limit counts usage already beyond nominal",
			cohorts: []model.Cohort{{Name: "c"}},
			tenants: []model.Tenant{{Name: "a", Cohort: "c", Quota: q(8, 2)}, {Name: "b", Cohort: "c", Quota: q(8)}},
			uses:    []use{{"a", 9}},
			want:    map[string]int64{"a": 1, "b": 7},
		},
		{
			name:    "borrowing limit 0: nominal only",
			cohorts: []model.Cohort{{Name: "c"}},
			tenants: []model.Tenant{{Name: "a", Cohort: "c", Quota: q(8, 0)}, {Name: "b", Cohort: "c", Quota: q(8)}},
			want:    map[string]int64{"a": 8, "b": 16},
		},
		{
			name:    "lending limit: only part of the nominal is lent",
			cohorts: []model.Cohort{{Name: "c"}},
			tenants: []model.Tenant{{Name: "a", Cohort: "c", Quota: q(8)}, {Name: "b", Cohort: "c", Quota: q(8, none, 2)}},
			want:    map[string]int64{"a": 10, "b": 16},
		},
		{
			name:    "lending limit: the guaranteed part stays available to its owner",
			cohorts: []model.Cohort{{Name: "c"}},
			tenants: []model.Tenant{{Name: "a", Cohort: "c", Quota: q(8)}, {Name: "b", Cohort: "c", Quota: q(8, none, 2)}},
			uses:    []use{{"a", 10}},
			want:    map[string]int64{"a": 0, "b": 6},
		},
		{
			name:    "lending limit 0 with borrowing limit 0: an island",
			cohorts: []model.Cohort{{Name: "c"}},
			tenants: []model.Tenant{{Name: "a", Cohort: "c", Quota: q(8, 0, 0)}, {Name: "b", Cohort: "c", Quota: q(8)}},
			uses:    []use{{"b", 3}},
			want:    map[string]int64{"a": 8, "b": 5},
		},
		{
			name:    "lending and borrowing limits together",
			cohorts: []model.Cohort{{Name: "c"}},
			tenants: []model.Tenant{{Name: "a", Cohort: "c", Quota: q(8, 2, 2)}, {Name: "b", Cohort: "c", Quota: q(8)}},
			uses:    []use{{"a", 7}},
			want:    map[string]int64{"a": 3, "b": 9}, // a lends 2 and uses 1 of them itself
		},
		{
			name:    "cohort's own nominal quota is shared",
			cohorts: []model.Cohort{{Name: "c", Quota: q(4)}},
			tenants: []model.Tenant{{Name: "a", Cohort: "c"}, {Name: "b", Cohort: "c"}},
			uses:    []use{{"a", 1}},
			want:    map[string]int64{"a": 3, "b": 3},
		},
		{
			name:    "nested cohorts: borrow across the whole tree",
			cohorts: []model.Cohort{{Name: "root"}, {Name: "x", Parent: "root"}, {Name: "y", Parent: "root"}},
			tenants: []model.Tenant{
				{Name: "a", Cohort: "x", Quota: q(4)}, {Name: "b", Cohort: "x", Quota: q(4)},
				{Name: "c", Cohort: "y", Quota: q(8)},
			},
			uses: []use{{"c", 10}},
			want: map[string]int64{"a": 6, "b": 6, "c": 6},
		},
		{
			name: "nested cohorts: a cohort's lending limit keeps a part for its subtree",
			cohorts: []model.Cohort{
				{Name: "root"}, {Name: "x", Parent: "root", Quota: q(0, none, 2)}, {Name: "y", Parent: "root"},
			},
			tenants: []model.Tenant{
				{Name: "a", Cohort: "x", Quota: q(4)}, {Name: "b", Cohort: "x", Quota: q(4)},
				{Name: "c", Cohort: "y", Quota: q(8)},
			},
			uses: []use{{"c", 10}},
			// x's subtree is 8 and lends 2, so c reaches 10 and x keeps 6.
			want: map[string]int64{"a": 6, "b": 6, "c": 0},
		},
		{
			name: "nested cohorts: a cohort's borrowing limit",
			cohorts: []model.Cohort{
				{Name: "root"}, {Name: "x", Parent: "root", Quota: q(0, 2)}, {Name: "y", Parent: "root"},
			},
			tenants: []model.Tenant{
				{Name: "a", Cohort: "x", Quota: q(4)}, {Name: "b", Cohort: "x", Quota: q(4)},
				{Name: "c", Cohort: "y", Quota: q(8)},
			},
			// x's subtree may use 8 + 2 at most.
			want: map[string]int64{"a": 10, "b": 10, "c": 16},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fac := &model.Facility{Cohorts: tt.cohorts, Tenants: tt.tenants}
			tr := New(fac, []string{"H100"})
			for _, u := range tt.uses {
				tr.Add(tr.Tenant(u.tenant), 0, u.delta)
			}
			got := map[string]int64{}
			for name := range tt.want {
				got[name] = tr.Available(tr.Tenant(name), 0)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Available (-want +got):\n%s", diff)
			}
		})
	}
}

// nestedCohorts is a facility of two cohorts under a root cohort, with
// lending and borrowing limits, and a tenant of its own; and its tenants.
func nestedCohorts() (*model.Facility, []string) {
	const none = -1
	return &model.Facility{
		Cohorts: []model.Cohort{
			{Name: "root", Quota: q(3)}, {Name: "x", Parent: "root", Quota: q(1, 4, 2)}, {Name: "y", Parent: "root"},
		},
		Tenants: []model.Tenant{
			{Name: "a", Cohort: "x", Quota: q(4, 2, 1)}, {Name: "b", Cohort: "x", Quota: q(4, none, 3)},
			{Name: "c", Cohort: "y", Quota: q(8, 5)}, {Name: "d", Cohort: "y", Quota: q(2, none, 0)},
			{Name: "e", Quota: q(6)},
		},
	}, []string{"a", "b", "c", "d", "e"}
}

// TestTreeAddUndo: every Add undone in reverse order restores every
// tenant's Available and usage, and +d then −d is a no-op at any point.
func TestTreeAddUndo(t *testing.T) {
	fac, names := nestedCohorts()
	tr := New(fac, []string{"H100"})
	state := func() map[string][2]int64 {
		out := map[string][2]int64{}
		for _, n := range names {
			i := tr.Tenant(n)
			out[n] = [2]int64{tr.Usage(i, 0), tr.Available(i, 0)}
		}
		return out
	}
	initial := state()
	rng := rand.New(rand.NewSource(1))
	var log []use
	for step := 0; step < 2000; step++ {
		n := names[rng.Intn(len(names))]
		d := int64(rng.Intn(9))
		if rng.Intn(3) == 0 && len(log) > 0 {
			// undo the last change
			u := log[len(log)-1]
			log = log[:len(log)-1]
			tr.Add(tr.Tenant(u.tenant), 0, -u.delta)
			continue
		}
		before := state()
		tr.Add(tr.Tenant(n), 0, d)
		tr.Add(tr.Tenant(n), 0, -d)
		if diff := cmp.Diff(before, state()); diff != "" {
			t.Fatalf("step %d: Add(%s, %d) then Add(%s, %d) changed the tree (-before +after):\n%s", step, n, d, n, -d, diff)
		}
		tr.Add(tr.Tenant(n), 0, d)
		log = append(log, use{n, d})
	}
	for i := len(log) - 1; i >= 0; i-- {
		tr.Add(tr.Tenant(log[i].tenant), 0, -log[i].delta)
	}
	if diff := cmp.Diff(initial, state()); diff != "" {
		t.Errorf("undoing every Add did not restore the tree (-initial +after):\n%s", diff)
	}
	for i := range tr.nodes {
		for m, u := range tr.nodes[i].usage {
			if u != 0 {
				t.Errorf("node %s model %d: usage %d after undo, want 0", tr.nodes[i].name, m, u)
			}
		}
	}
}

// TestTreeAvailableRespectsCapacity: within one tree, the sum of what
// tenants can start one after another never exceeds the tree's quota.
func TestTreeGreedyFillNeverExceedsTree(t *testing.T) {
	fac := &model.Facility{
		Cohorts: []model.Cohort{{Name: "root", Quota: q(3)}, {Name: "x", Parent: "root", Quota: q(1, 4, 2)}, {Name: "y", Parent: "root"}},
		Tenants: []model.Tenant{
			{Name: "a", Cohort: "x", Quota: q(4, 2, 1)}, {Name: "b", Cohort: "x", Quota: q(4, -1, 3)},
			{Name: "c", Cohort: "y", Quota: q(8, 5)}, {Name: "d", Cohort: "y", Quota: q(2, -1, 0)},
		},
	}
	total := int64(3 + 1 + 4 + 4 + 8 + 2)
	for seed := int64(0); seed < 200; seed++ {
		tr := New(fac, []string{"H100"})
		rng := rand.New(rand.NewSource(seed))
		var sum int64
		for step := 0; step < 50; step++ {
			n := []string{"a", "b", "c", "d"}[rng.Intn(4)]
			i := tr.Tenant(n)
			take := min(tr.Available(i, 0), int64(rng.Intn(5)+1))
			if take < 0 {
				t.Fatalf("seed %d: Available(%s) = %d < 0", seed, n, take)
			}
			tr.Add(i, 0, take)
			sum += take
		}
		if sum > total {
			t.Fatalf("seed %d: tenants used %d > tree total %d", seed, sum, total)
		}
		// Every tenant keeps its guaranteed part (nominal - lending limit).
		for _, g := range []struct {
			n    string
			keep int64
		}{{"a", 3}, {"b", 1}, {"d", 2}} {
			i := tr.Tenant(g.n)
			if got := tr.Usage(i, 0) + tr.Available(i, 0); got < g.keep {
				t.Errorf("seed %d: %s may reach %d, less than its guaranteed %d", seed, g.n, got, g.keep)
			}
		}
	}
}

// TestTreeStateDependsOnlyOnUsage: a tree brought from one usage vector
// to another by the differences (the way a pass's kept tree follows the
// running work) equals a fresh tree given the second vector, whatever
// came before; and CloneInto into a tree last cloned from the same
// source (which copies only usage) equals a fresh Clone.
func TestTreeStateDependsOnlyOnUsage(t *testing.T) {
	fac, names := nestedCohorts()
	state := func(tr *Tree) map[string][3]int64 {
		out := map[string][3]int64{}
		for i := range tr.nodes {
			out[tr.nodes[i].name] = [3]int64{tr.Usage(i, 0), tr.Available(i, 0), tr.FromCohort(i, 0)}
		}
		return out
	}
	base := New(fac, []string{"H100"})
	kept := base.Clone()
	var clone *Tree
	last := make([]int64, len(names))
	rng := rand.New(rand.NewSource(7))
	for step := 0; step < 500; step++ {
		next := make([]int64, len(names))
		for i := range next {
			next[i] = int64(rng.Intn(12))
		}
		for _, i := range rng.Perm(len(names)) { // any order
			kept.Add(kept.Tenant(names[i]), 0, next[i]-last[i])
		}
		last = next
		fresh := base.Clone()
		for i, n := range names {
			fresh.Add(fresh.Tenant(n), 0, next[i])
		}
		if diff := cmp.Diff(state(fresh), state(kept)); diff != "" {
			t.Fatalf("step %d: the tree followed by differences differs from a fresh one (-fresh +kept):\n%s", step, diff)
		}
		clone = kept.CloneInto(clone)
		if diff := cmp.Diff(state(kept.Clone()), state(clone)); diff != "" {
			t.Fatalf("step %d: CloneInto a tree cloned from the same source differs from Clone (-clone +into):\n%s", step, diff)
		}
		clone.Add(clone.Tenant("a"), 0, 5) // the pass's own starts: never seen by kept
	}
}
