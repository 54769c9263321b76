package sched

import "github.com/carnot-dc/carnot/internal/model"

// claimSeen is one claimant of a node's GPUs as place.Cluster.SetState
// last read it: the job the GPUs are claimed for and what the queue said
// of it (its tenant, and whether it is pending).
type claimSeen struct {
	id, tenant string
	pending    bool
}

// claimsSeen remembers, per node of the kept view, the claimants its
// last SetState read. A node whose GPU states have not changed, that the
// difference did not touch (no allocation came or went) and whose
// claimants the queue reads as before would get the restrictions it
// already has, so sync skips it. (Whether a claim counts depends on the
// queue, which is why claimed nodes are otherwise set anew every pass.)
type claimsSeen struct {
	byNode map[int][]claimSeen
}

func (s *claimsSeen) reset() { clear(s.byNode) }

// same reports whether node n's claimants in gpus read as last recorded.
func (s *claimsSeen) same(n int, gpus []model.GPUState, claimant func(string) (string, bool)) bool {
	rec, ok := s.byNode[n]
	if !ok {
		return false
	}
	k, last := 0, ""
	for _, g := range gpus {
		if g.ClaimedBy == "" || g.ClaimedBy == last {
			continue
		}
		last = g.ClaimedBy
		if k >= len(rec) || rec[k].id != last {
			return false
		}
		t, p := claimant(last)
		if rec[k].tenant != t || rec[k].pending != p {
			return false
		}
		k++
	}
	return k == len(rec)
}

// note records node n's claimants in gpus as the queue reads them now.
func (s *claimsSeen) note(n int, gpus []model.GPUState, claimant func(string) (string, bool)) {
	if s.byNode == nil {
		s.byNode = map[int][]claimSeen{}
	}
	rec, last := s.byNode[n][:0], ""
	for _, g := range gpus {
		if g.ClaimedBy == "" || g.ClaimedBy == last {
			continue
		}
		last = g.ClaimedBy
		t, p := claimant(last)
		rec = append(rec, claimSeen{id: last, tenant: t, pending: p})
	}
	s.byNode[n] = rec
}
