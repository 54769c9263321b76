package server

import (
	"container/heap"
	"fmt"
	"net"
	"net/url"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A replica's rank (api.Replica.Rank, its RANK) is a slot of
// 0..WORLD_SIZE-1, apart from its index, which names the task: an
// attempt's replicas take ranks 0..n-1 in order; a running deployment's
// replacement, or a replica it gains, takes the lowest rank that no
// replica holding its GPUs has, which is the rank of the replica it
// replaces. torchrun-style launchers expect exactly that: each rank
// held once, MASTER_ADDR on the node of rank 0. The rank is in the
// job's record, so a restarted server hands out the same ones. A
// replica lost with a node that may still run it keeps its rank until
// the node is clear (lost_rank.go).

// holdsRank reports whether replica r holds its rank: while it is live,
// and a running deployment's ended replica while it backs off (until it
// is replaced). A deployment's record of an older version may hold
// ended replicas not marked released: they hold none.
func holdsRank(r *api.Replica) bool { return live(r) || r.ReplaceAt != nil && !r.Released }

// freeRanks is the n lowest ranks no replica of js holds.
func freeRanks(js *jobState, n int) []int {
	held := map[int]bool{}
	for i := range js.doc.Replicas {
		if r := &js.doc.Replicas[i]; holdsRank(r) || js.awaitNode[r.Index] && !r.Released {
			held[r.Rank] = true
		}
	}
	out := make([]int, 0, n)
	for k := 0; len(out) < n; k++ {
		if !held[k] {
			out = append(out, k)
		}
	}
	return out
}

// masterAddr is the host of the agent address of the node of js's
// replica of rank 0: the one that holds it, else the last that did
// (127.0.0.1 when its node has no address). Caller holds mu.
func (s *Server) masterAddr(js *jobState) string {
	k := -1
	if rs := js.doc.Replicas; len(rs) > 0 && rs[0].Rank == 0 && holdsRank(&rs[0]) {
		k = 0 // it holds rank 0 (as an attempt's first replica does): no other does
	} else {
		for i := range rs {
			if r := &rs[i]; r.Rank == 0 && (k < 0 || holdsRank(r) || !holdsRank(&rs[k])) {
				k = i
			}
		}
	}
	if k >= 0 {
		if m := s.nodes[js.doc.Replicas[k].Node]; m != nil && m.doc.Address != "" {
			if u, err := url.Parse(m.doc.Address); err == nil && u.Hostname() != "" {
				return u.Hostname()
			}
		}
	}
	return "127.0.0.1"
}

// restoreRanks gives the replicas of a reloaded job stored by a version
// without ranks (each rank 0) theirs: a replica takes the lowest rank
// not held, when it was assigned, by a replica before it (one that ended
// after it was assigned, or backs off, included). A record whose
// unreleased replicas' ranks are distinct and below WORLD_SIZE, as this
// version writes them, is kept as it is.
func restoreRanks(js *jobState) {
	rs := js.doc.Replicas
	seen := map[int]bool{}
	valid := true
	for i := range rs {
		if r := &rs[i]; !r.Released {
			valid = valid && !seen[r.Rank] && r.Rank >= 0 && r.Rank < js.job.Replicas
			seen[r.Rank] = true
		}
	}
	if !valid {
		deriveRanks(rs)
	}
}

// deriveRanks gives each replica of rs, in the record's order, which is
// the order of assignment, the lowest rank not held when it was
// assigned by a replica before it: one that had not ended by then, or
// backs off.
func deriveRanks(rs []api.Replica) {
	// One sweep in the record's order, which is the order of assignment:
	// the ranks of replicas that ended by a replica's assignment are
	// free again, and it takes the lowest free (a scan of those before
	// each was quadratic: minutes for the record of a deployment that
	// an earlier version replaced replicas of for months).
	ends := &rankEnds{}
	free := &lowest{}
	next := 0
	for k := range rs {
		r := &rs[k]
		if r.AssignedAt != nil {
			for ends.Len() > 0 && !(*ends)[0].at.After(*r.AssignedAt) {
				heap.Push(free, heap.Pop(ends).(rankEnd).rank)
			}
		}
		if free.Len() > 0 {
			r.Rank = heap.Pop(free).(int)
		} else {
			r.Rank = next
			next++
		}
		if r.EndedAt != nil && r.ReplaceAt == nil {
			heap.Push(ends, rankEnd{at: *r.EndedAt, rank: r.Rank})
		}
	}
}

// rankEnd is when a replica's rank is free again (restoreRanks).
type rankEnd struct {
	at   time.Time
	rank int
}

// rankEnds is a min-heap of rankEnd by time (container/heap).
type rankEnds []rankEnd

func (h rankEnds) Len() int           { return len(h) }
func (h rankEnds) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h rankEnds) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *rankEnds) Push(x any)        { *h = append(*h, x.(rankEnd)) }
func (h *rankEnds) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// lowest is a min-heap of ranks (container/heap).
type lowest []int

func (h lowest) Len() int           { return len(h) }
func (h lowest) Less(i, j int) bool { return h[i] < h[j] }
func (h lowest) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *lowest) Push(x any)        { *h = append(*h, x.(int)) }
func (h *lowest) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// loopbackMaster says, for a new attempt of job js (not a deployment:
// its replicas do not meet) across nodes, that its MASTER_ADDR is a
// loopback address, which the ranks on other nodes cannot reach: rank
// 0's agent serves on one (--agent-listen). "" otherwise. Caller holds
// mu.
func (s *Server) loopbackMaster(js *jobState) string {
	rs := js.doc.Replicas
	if js.job.Kind == model.KindDeployment || len(rs) < 2 ||
		!slices.ContainsFunc(rs[1:], func(r api.Replica) bool { return r.Node != rs[0].Node }) {
		return ""
	}
	host := s.masterAddr(js)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return ""
	}
	return fmt.Sprintf("warning: MASTER_ADDR is %s, as node %s's agent serves on a loopback address (--agent-listen): the ranks on other nodes cannot reach rank 0",
		host, rs[0].Node)
}
