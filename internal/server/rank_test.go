package server

import (
	"github.com/carnot-dc/carnot/internal/model"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// rankEnv is a server with nodes n1–n3 of 8 GPUs each, at distinct
// addresses (10.0.0.1–3), and a running deployment of replicas replicas
// of 8 GPUs each (one a node); it returns the env and the deployment.
func rankEnv(t *testing.T, replicas int) (*env, string) {
	t.Helper()
	e := newEnv(t, DevFacility("local", "FR"), true)
	for k := 1; k <= 3; k++ {
		e.registerAt("n"+strconv.Itoa(k), "http://10.0.0."+strconv.Itoa(k)+":7070")
	}
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(8, replicas), &d); code != http.StatusCreated {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	for _, r := range e.job(d.ID).Replicas {
		e.report(r.Node, running(d.ID, r.Index, 1))
	}
	return e, d.ID
}

// registerAt registers node name with 8 fake H100s and agent address addr.
func (e *env) registerAt(name, addr string) {
	e.t.Helper()
	reg := api.Register{Name: name, Site: "local", Address: addr, CPUs: 32, MemoryGiB: 256}
	for i := range 8 {
		reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, Model: "H100"})
	}
	if code := e.do("POST", "/v1/agent/register", reg, nil); code != 200 {
		e.t.Fatalf("register %s: %d", name, code)
	}
}

// replicaTask is replica idx of job's task in its node's assignments.
func (e *env) replicaTask(job string, idx int) api.Task {
	e.t.Helper()
	node := e.job(job).Replicas[idx].Node
	for _, tk := range e.tasks(node) {
		if tk.Job == job && tk.Replica == idx {
			return tk
		}
	}
	e.t.Fatalf("replica %d of %s is not in %s's assignments", idx, job, node)
	return api.Task{}
}

// checkRanks checks that job's live replicas hold ranks 0..WORLD_SIZE-1
// once each, in the API and in their tasks' environments, and that every
// task's MASTER_ADDR is the host of the node of the replica of rank 0.
func checkRanks(t *testing.T, e *env, job string, worldSize int) {
	t.Helper()
	held := map[int]int{}
	master := ""
	rs := e.job(job).Replicas
	for _, r := range rs {
		if !live(&r) {
			continue
		}
		if _, dup := held[r.Rank]; dup || r.Rank < 0 || r.Rank >= worldSize {
			t.Fatalf("replica %d has rank %d (ranks held %v, world size %d): %+v", r.Index, r.Rank, held, worldSize, rs)
		}
		held[r.Rank] = r.Index
		if r.Rank == 0 {
			master = "10.0.0." + r.Node[1:]
		}
	}
	if len(held) != worldSize {
		t.Fatalf("ranks held %v; want 0..%d, each once", held, worldSize-1)
	}
	for rank, idx := range held {
		env := e.replicaTask(job, idx).Env
		want := map[string]string{"RANK": strconv.Itoa(rank), "WORLD_SIZE": strconv.Itoa(worldSize), "MASTER_ADDR": master}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("replica %d (rank %d): %s=%q; want %q", idx, rank, k, env[k], v)
			}
		}
	}
}

// A deployment's replacement replica takes the rank of the replica it
// replaces, and MASTER_ADDR follows rank 0 to its new node (before, the
// replacement's RANK was its index in the record, 2 of a WORLD_SIZE of 2,
// and MASTER_ADDR named the node replica 0 had left).
func TestReplacementTakesTheRankItReplaces(t *testing.T) {
	e, d := rankEnv(t, 2)
	checkRanks(t, e, d, 2)
	r0 := e.job(d).Replicas[0]
	if code := e.do("POST", "/v1/nodes/"+r0.Node+"/drain", nil, nil); code != 200 {
		t.Fatalf("drain %s: %d", r0.Node, code)
	}
	e.report(r0.Node, exited(d, 0, 1, 0))
	e.pass()
	rs := e.job(d).Replicas
	if len(rs) != 3 || rs[2].State != api.ReplicaAssigned || rs[2].Node == r0.Node {
		t.Fatalf("replicas %+v; want a replacement on another node", rs)
	}
	if rs[2].Rank != 0 {
		t.Errorf("the replacement has rank %d; want 0, the rank of the replica it replaces", rs[2].Rank)
	}
	var plan api.Plan
	if code := e.do("GET", "/v1/plan", nil, &plan); code != 200 || len(plan.Starts) != 1 || len(plan.Starts[0].Replicas) != 1 ||
		plan.Starts[0].Replicas[0].Index != 2 || plan.Starts[0].Replicas[0].Rank != 0 {
		t.Errorf("plan %d %+v; want the replacement started as replica 2 of rank 0", code, plan.Starts)
	}
	checkRanks(t, e, d, 2)
	// A restarted server (or a new leader) hands out the same ranks.
	e = e.restart(true)
	checkRanks(t, e, d, 2)
}

// Replicas lost together are replaced in the ranks they held, whichever
// order the core places them in; the one left keeps its own.
func TestReplacementsFillTheRanksLost(t *testing.T) {
	e, d := rankEnv(t, 2)
	e.registerAt("n4", "http://10.0.0.4:7070")
	rs := e.job(d).Replicas
	keep := rs[1]
	e.report(rs[0].Node, exited(d, 0, 1, 0))
	e.pass()
	// rank 0's replacement runs; now rank 1's replica ends too, after
	// the crash window (a second quick end in a row would back off).
	rs = e.job(d).Replicas
	e.clock.add(crashWindow)
	e.report(rs[2].Node, running(d, 2, 1))
	e.report(keep.Node, exited(d, 1, 1, 0))
	e.pass()
	rs = e.job(d).Replicas
	if len(rs) != 4 || rs[3].Rank != 1 || rs[2].Rank != 0 {
		t.Fatalf("replicas %+v; want the second replacement in rank 1, the first keeping 0", rs)
	}
	checkRanks(t, e, d, 2)
}

// A record stored by a version without ranks (each 0) gets them back:
// a gang's are its indices; a deployment's replacement takes the rank
// free when it was assigned.
func TestRestoreRanksOfOlderRecords(t *testing.T) {
	at := func(m int) *time.Time { return ptrTime(time.Date(2026, 3, 2, 10, m, 0, 0, time.UTC)) }
	for name, tc := range map[string]struct {
		reps []api.Replica
		want []int
	}{
		"gang": {[]api.Replica{{State: api.ReplicaRunning}, {State: api.ReplicaRunning}, {State: api.ReplicaExited}}, []int{0, 1, 2}},
		"replaced": {[]api.Replica{
			{State: api.ReplicaExited, AssignedAt: at(0), EndedAt: at(1), Released: true},
			{State: api.ReplicaRunning, AssignedAt: at(0)},
			{State: api.ReplicaExited, AssignedAt: at(0), EndedAt: at(3), Released: true},
			{State: api.ReplicaRunning, AssignedAt: at(2)}, // rank 0 was free, 2 was not
			{State: api.ReplicaRunning, AssignedAt: at(4)},
		}, []int{0, 1, 2, 0, 2}},
		"ended, not marked released": {[]api.Replica{ // a running deployment's, stored before Released
			{State: api.ReplicaExited, AssignedAt: at(0), EndedAt: at(1)},
			{State: api.ReplicaRunning, AssignedAt: at(0)},
			{State: api.ReplicaRunning, AssignedAt: at(2)},
		}, []int{0, 1, 0}},
		"valid kept": {[]api.Replica{{Rank: 1, State: api.ReplicaRunning}, {Rank: 0, State: api.ReplicaRunning}, {Rank: 1, Released: true}}, []int{1, 0, 1}},
	} {
		t.Run(name, func(t *testing.T) {
			js := &jobState{job: &model.Job{Replicas: 3}, doc: api.Job{Replicas: tc.reps}}
			restoreRanks(js)
			for i, r := range js.doc.Replicas {
				if r.Rank != tc.want[i] {
					t.Errorf("replica %d: rank %d; want %d (all %+v)", i, r.Rank, tc.want[i], js.doc.Replicas)
				}
			}
		})
	}
}

// A running deployment's message says where it runs now: after a
// replica moved, its new node, not the placement it started with.
func TestDeploymentMessageFollowsItsReplicas(t *testing.T) {
	e, d := rankEnv(t, 2)
	rs := e.job(d).Replicas
	if code := e.do("POST", "/v1/nodes/"+rs[0].Node+"/drain", nil, nil); code != 200 {
		t.Fatalf("drain %s: %d", rs[0].Node, code)
	}
	e.report(rs[0].Node, exited(d, 0, 1, 0))
	e.pass()
	j := e.job(d)
	moved := j.Replicas[2].Node
	if !strings.Contains(j.Message, moved+":") || strings.Contains(j.Message, rs[0].Node+":") {
		t.Errorf("message %q once replica 0 moved from %s to %s; want where it runs now", j.Message, rs[0].Node, moved)
	}
	e.report(rs[1].Node, exited(d, 1, 1, 0))
	if j := e.job(d); strings.Contains(j.Message, rs[1].Node+":") {
		t.Errorf("message %q once replica 1 on %s ended; want it gone", j.Message, rs[1].Node)
	}
}
