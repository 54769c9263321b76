package sched

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// Jobs submitted in the same second start in the order of their
// submission (SubmitOrder), not of their IDs; with no order within the
// second, the IDs decide, as before. Schedule and a queue's Quick agree.
func TestFIFOWithinASecond(t *testing.T) {
	for _, tc := range []struct {
		name             string
		zzOrder, aaOrder int64
		want             string
	}{
		{"zz submitted first", 1, 2, "zz"},
		{"aa submitted first", 2, 1, "aa"},
		{"no order within the second", 0, 0, "aa"},
	} {
		f := smallFacility(2)
		f.Nodes = f.Nodes[:1] // room for one 8-GPU job
		zz, aa := job("zz", "beta", "normal", 1, 8), job("aa", "beta", "normal", 1, 8)
		zz.SubmitTime, aa.SubmitTime = 100, 100
		zz.SubmitOrder, aa.SubmitOrder = tc.zzOrder, tc.aaOrder
		snap := &model.Snapshot{Facility: f, Pending: []*model.Job{aa, zz}}
		p := Schedule(snap, 1000)
		if len(p.Starts) != 1 || p.Starts[0].Job != tc.want {
			t.Errorf("%s: Schedule starts %+v; want %s", tc.name, p.Starts, tc.want)
		}
		q := NewQueue(f, []*model.Job{aa, zz})
		qp, _ := Quick(&model.Snapshot{Facility: f}, q, 1000, 0)
		if len(qp.Starts) != 1 || qp.Starts[0].Job != tc.want {
			t.Errorf("%s: Quick starts %+v; want %s", tc.name, qp.Starts, tc.want)
		}
	}
}
