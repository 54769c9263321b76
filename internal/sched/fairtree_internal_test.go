package sched

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestLaterLevelGroups compares laterLevel, which looks tenants up in a
// slice or, past a few, a map and reuses its memory from call to call,
// with a naive grouping: tenants by name, each one's jobs in the order
// given.
func TestLaterLevelGroups(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var m fsMem
	for round := range 200 {
		var jobs []*model.Job
		tenants := 1 + r.IntN(20)
		for i := range r.IntN(60) {
			jobs = append(jobs, &model.Job{ID: fmt.Sprintf("j%d", i), Tenant: fmt.Sprintf("t%02d", r.IntN(tenants))})
		}
		want := map[string][]*model.Job{}
		var names []string
		for _, j := range jobs {
			if want[j.Tenant] == nil {
				names = append(names, j.Tenant)
			}
			want[j.Tenant] = append(want[j.Tenant], j)
		}
		slices.Sort(names)
		l := m.laterLevel(jobs, jobLess)
		var got []string
		for _, qt := range l.tenants {
			got = append(got, qt.name)
			if qt.live != len(want[qt.name]) || !slices.Equal(qt.jobs, want[qt.name]) {
				t.Fatalf("round %d: tenant %s has %d live, jobs %v; want %v", round, qt.name, qt.live, qt.jobs, want[qt.name])
			}
		}
		if strings.Join(got, ",") != strings.Join(names, ",") {
			t.Fatalf("round %d: tenants %v, want %v", round, got, names)
		}
	}
}
