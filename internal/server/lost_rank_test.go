package server

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// silenceReplica lets the node of replica idx of deployment d go silent
// past the heartbeat timeout, the others reporting, and runs a pass: the
// replica is lost with its node, which may still run it. It returns that
// node.
func silenceReplica(t *testing.T, e *env, d string, idx int) string {
	t.Helper()
	rs := e.job(d).Replicas
	silent := rs[idx].Node
	e.clock.add(11 * time.Second)
	for _, n := range []string{"n1", "n2", "n3"} {
		if n != silent {
			var live []api.TaskStatus
			for _, r := range rs {
				if r.Node == n && (r.State == api.ReplicaRunning || r.State == api.ReplicaAssigned) {
					live = append(live, running(d, r.Index, 1))
				}
			}
			e.report(n, live...)
		}
	}
	e.pass()
	if r := e.job(d).Replicas[idx]; r.State != api.ReplicaLost {
		t.Fatalf("replica %d on silent %s: %s; want lost", idx, silent, r.State)
	}
	return silent
}

// replacements counts d's replicas after the first n.
func replacements(e *env, d string, n int) []api.Replica {
	rs := e.job(d).Replicas
	if len(rs) <= n {
		return nil
	}
	return rs[n:]
}

// Without --stop-after-disconnect a replica lost with a silent node may
// still run there. A deployment's replacement does not take its rank
// (RANK) while it may: the deployment runs one replica short until the
// node's agent reports the old replica stopped (or an operator fences
// the node), across a restart too; then the replacement takes the rank,
// once. Before, the replacement started at once in the same rank, and two
// processes held it for as long as the partition lasted.
func TestLostReplicaKeepsItsRankWhileItsNodeMayRunIt(t *testing.T) {
	t.Run("agent reports it stopped", func(t *testing.T) {
		e, d := rankEnv(t, 2)
		silent := silenceReplica(t, e, d, 0)
		e.pass()
		if rs := replacements(e, d, 2); len(rs) != 0 {
			t.Fatalf("replacement %+v while %s may still run replica 0; want none", rs, silent)
		}
		e = e.restart(true)
		e.pass()
		if rs := replacements(e, d, 2); len(rs) != 0 {
			t.Fatalf("after a restart, replacement %+v while %s may still run replica 0; want none", rs, silent)
		}
		e.report(silent, running(d, 0, 1)) // back, still running it: its agent stops it now
		e.pass()
		if rs := replacements(e, d, 2); len(rs) != 0 {
			t.Fatalf("replacement %+v while %s still reports replica 0 running; want none", rs, silent)
		}
		e.report(silent) // stopped
		e.pass()
		rs := replacements(e, d, 2)
		if len(rs) != 1 || rs[0].Rank != 0 {
			t.Fatalf("once %s reports replica 0 stopped: replacements %+v; want one, in rank 0", silent, rs)
		}
		e.report(rs[0].Node, running(d, rs[0].Index, 1))
		checkRanks(t, e, d, 2)
	})
	t.Run("fenced", func(t *testing.T) {
		e, d := rankEnv(t, 2)
		silent := silenceReplica(t, e, d, 1)
		e.pass()
		if rs := replacements(e, d, 2); len(rs) != 0 {
			t.Fatalf("replacement %+v while %s may still run replica 1; want none", rs, silent)
		}
		if code := e.do("POST", "/v1/nodes/"+silent+"/fence", nil, nil); code != 200 {
			t.Fatalf("fence %s: %d", silent, code)
		}
		e.pass()
		rs := replacements(e, d, 2)
		if len(rs) != 1 || rs[0].Rank != 1 || rs[0].Node == silent {
			t.Fatalf("once %s is fenced: replacements %+v; want one, in rank 1, elsewhere", silent, rs)
		}
	})
}
