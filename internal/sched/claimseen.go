package sched

import (
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

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
//
// all holds the distinct claimants of the whole node list as last read
// (when allOK): while the list is unchanged and they all read the same,
// only the claimed nodes the difference touched need a look.
type claimsSeen struct {
	byNode map[int][]claimSeen
	all    []claimSeen
	allOK  bool
}

func (s *claimsSeen) reset() {
	clear(s.byNode)
	s.allOK = false
}

// setStates sets anew the GPU restrictions of the nodes restate found
// changed, and of the claimed nodes (unchanged states) whose restrictions
// may no longer be right.
func (b *base) setStates(changed, claimed []int, claimant func(string) (string, bool)) {
	s := &b.seen
	for _, n := range b.touched {
		delete(s.byNode, n) // its Busy bits changed: set it anew
	}
	if len(changed) == 0 && s.allOK && s.allSame(claimant) {
		for _, n := range b.touched {
			if i, ok := b.state[n]; ok && claimedState(&b.nodes[i]) {
				if _, done := s.byNode[n]; !done { // touched twice
					b.c.SetState(n, b.nodes[i].GPUs, claimant)
					s.note(n, b.nodes[i].GPUs, claimant)
				}
			}
		}
		b.claimSkips += len(claimed)
		return
	}
	for k, list := range [2][]int{changed, claimed} {
		for _, n := range list {
			var gpus []model.GPUState // a node no longer listed is clean
			if i, ok := b.state[n]; ok {
				gpus = b.nodes[i].GPUs
			}
			if k == 1 && s.same(n, gpus, claimant) {
				b.claimSkips++
				continue
			}
			b.c.SetState(n, gpus, claimant)
			s.note(n, gpus, claimant)
		}
	}
	s.readAll(b.nodes, claimant)
}

// readAll records the distinct claimants of the node list.
func (s *claimsSeen) readAll(nodes []model.NodeState, claimant func(string) (string, bool)) {
	s.all, s.allOK = s.all[:0], true
	for i := range nodes {
		last := ""
		for _, g := range nodes[i].GPUs {
			if g.ClaimedBy == "" || g.ClaimedBy == last {
				continue
			}
			last = g.ClaimedBy
			if !slices.ContainsFunc(s.all, func(c claimSeen) bool { return c.id == last }) {
				t, p := claimant(last)
				s.all = append(s.all, claimSeen{id: last, tenant: t, pending: p})
			}
		}
	}
}

// allSame reports whether every claimant of the list reads as recorded.
func (s *claimsSeen) allSame(claimant func(string) (string, bool)) bool {
	for _, c := range s.all {
		if t, p := claimant(c.id); t != c.tenant || p != c.pending {
			return false
		}
	}
	return true
}

// claimedState reports whether a GPU of the node state is claimed.
func claimedState(st *model.NodeState) bool {
	return slices.ContainsFunc(st.GPUs, func(g model.GPUState) bool { return g.ClaimedBy != "" })
}

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
