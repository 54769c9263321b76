package server

import (
	"cmp"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// Why an attempt is being stopped.
const (
	stopNone     = ""
	stopCancel   = "cancel"
	stopPreempt  = "preempt"
	stopFailure  = "failure"  // a replica failed or was lost: the gang goes whole
	stopFinished = "finished" // a deployment's replica reached its runtime limit; the rest follow
)

// jobState is a job in memory: the core's view (job, alloc) and the
// API's (doc). Guarded by Server.mu.
type jobState struct {
	job *model.Job
	doc api.Job
	// alloc is set while the job holds resources: from its start until
	// every replica of the attempt has ended.
	alloc *model.Allocation
	// part is a running deployment's replicas that a partial preemption
	// takes, until each has ended: a terminating allocation of their own
	// (partial.go); nil when none.
	part *model.Allocation

	stop string // why the attempt is being stopped; "" while it runs
	// grace is the SIGTERM→SIGKILL grace of the stop in progress.
	grace time.Duration
	// stopMsg says why, for the job's message once the attempt ended.
	stopMsg string
	// exitMsg is the first failure of the attempt and exitCode its
	// replica's exit code (the job's, when the attempt ends).
	exitMsg  string
	exitCode int
	// usageDirty says the energy counters changed since the last write.
	usageDirty bool
	// saved is doc.Usage as the store last had it: GET /v1/usage adds
	// the energy counted since (api_cluster.go addLive).
	saved api.Usage
	// queued says the job is in the loop's queue (or will be at the
	// next pass); see Server.requeue.
	queued bool
	// ranOn holds the nodes the job has had a replica on, whose
	// nodeState.unfinished lists it until it finishes (lifecycle.go).
	ranOn map[string]bool
	// limitSeen holds, per replica, what the server has seen of its
	// power limit: its agent's error for it, and whether a limit above
	// its cap was told (powerlimit.go).
	limitSeen map[int]limitSeen
	// counted is the placements the core last got for alloc when some
	// count at a power limit above their cap (powerlimit.go).
	counted []model.Placement
	// partCounted is countedPart's slice, kept as counted is.
	partCounted []model.Placement
	// lastHeard is, per replica of the attempt, when the server last
	// had a report of it running (memory only): its end is not before
	// that, whatever its agent's clock says.
	lastHeard map[int]time.Time
	// releaseAt holds a running deployment's ended replicas whose GPUs it
	// keeps until their back-off ends, by index (api.Replica.Index)
	// (backoff.go; doc.Crashes and each Replica.ReplaceAt keep it).
	releaseAt map[int]time.Time
	// awaitNode holds a running deployment's replicas lost with a node
	// that may still run them, by index: they keep their rank and GPUs
	// until the node is clear (lost_rank.go; the store keeps it: the
	// replica lost, not released, its node unreachable).
	awaitNode map[int]bool
	// restartAt, on a deployment queued again after its last replica
	// crashed, is when its back-off ends: it stays out of the queue
	// until then (backoff.go; doc.Crashes and its replicas' ends keep it).
	restartAt time.Time
	// awaitSilent, on a deployment queued again while a replica of the
	// attempt that ended may still run on a silent node, keeps it out of
	// the queue until none may (lost_rank.go; its record keeps that
	// attempt's replicas until the next start).
	awaitSilent bool
	// orphaned: the facility can no longer run js, found running at the
	// start (facility_change.go orphans); a running deployment is not
	// queued to replace a replica that ends.
	orphaned bool
	// held: a pending job waiting for its dependencies to succeed, out of
	// the queue (depends.go).
	held bool
}

// heardRunning records that replica i was reported running at now.
func (js *jobState) heardRunning(i int, now time.Time) {
	if js.lastHeard == nil {
		js.lastHeard = map[int]time.Time{}
	}
	js.lastHeard[i] = now
}

func (js *jobState) pending() bool {
	if js.doc.State == api.StatePending {
		return js.restartAt.IsZero() && !js.awaitSilent && !js.held
	}
	// A running deployment below its replica count stays in the queue:
	// the core scales it up.
	return js.job.Kind == model.KindDeployment && js.doc.State == api.StateRunning &&
		js.stop == stopNone && js.alloc != nil && len(js.alloc.Replicas) < js.job.Replicas && !js.orphaned
}

// replicaAt is the position in rs, a job's record, of the replica of
// index idx; -1 when there is none (or no longer: a running deployment
// drops its earliest replaced replicas, api.MaxReplacedReplicas).
// Indices rise with positions.
func replicaAt(rs []api.Replica, idx int) int {
	if idx >= 0 && idx < len(rs) && rs[idx].Index == idx {
		return idx // nothing dropped before it
	}
	k, ok := slices.BinarySearchFunc(rs, idx, func(r api.Replica, i int) int { return cmp.Compare(r.Index, i) })
	if !ok {
		return -1
	}
	return k
}

// live reports whether replica r of the current attempt has not ended.
func live(r *api.Replica) bool {
	return r.State == api.ReplicaAssigned || r.State == api.ReplicaRunning
}

// nodeState is a registered (or facility-listed) node. Guarded by
// Server.mu.
type nodeState struct {
	doc  api.Node
	node model.Node // its place in the facility
	// registered is false for a node of the facility file whose agent
	// never registered.
	registered bool
	// heardAtReload: doc.LastHeartbeat is when the server read the
	// store (reload), not a heartbeat's, until its agent beats or
	// registers. Meanwhile the node runs what it has and takes nothing
	// new, as a drained node: its agent may be gone for good, and work
	// placed there would fail only at the heartbeat timeout.
	heardAtReload bool
	// revoked: the node's certificates were revoked (carnot
	// revoke-node) since this server started, and it has not enrolled
	// again: its agent cannot fetch new work, so it takes none, as a
	// drained node, until it is silent for the heartbeat timeout. (A
	// server that starts after the revocation has heardAtReload for it,
	// which its refused agent never clears.)
	revoked bool
	// version counts changes of the node's assignments.
	version int64
	// capsVersion is the version before the last change of a running
	// replica's cap on the node (a recap): a report of its GPUs' limits
	// tells the server that a cap is set only when its agent built it
	// having applied a later version (fresh), in this server's numbering
	// (versionBase): one built earlier may predate the change.
	// capsChanged: a cap changed on the node since the server started.
	capsVersion int64
	capsChanged bool
	// lostVersion is the version before the node last became
	// unreachable (api.Node.Unreachable): a heartbeat that reports it
	// running nothing it lost ends that only when its agent built it
	// having applied a later version (one built earlier may predate the
	// starts of what it lost).
	lostVersion int64
	// changed, when set, is closed at the next change of version: the
	// node's long polls wait on it (made by the first poll that waits).
	changed chan struct{}
	// jobs holds the jobs with live replicas on the node.
	jobs map[string]bool
	// unfinished holds the jobs not finished that have had a replica on
	// the node (api.Assignments.UnfinishedJobs).
	unfinished map[string]bool
	// gpus is the model state of each GPU (claims).
	gpus []model.GPUState
	// lastSample is when each GPU's energy was last integrated: when
	// the server received its last sample (since the node registered).
	lastSample map[int]time.Time
	siteIdx    int
	// loseAt: the node went silent with Config.StopAfterDisconnect set;
	// its live replicas are lost at loseAt, once its agent has stopped
	// them (zero: nothing waits).
	loseAt time.Time
	// leaving: its agent said, in its last heartbeat, that it is shutting
	// down; like a drained node it runs what it has and takes nothing new,
	// until its agent beats or registers without saying so (memory only:
	// after a restart the heartbeat timeout applies, as it always does).
	leaving bool
}

// condition is the node's condition for the core: a fenced node is down
// (unreachable while its agent reports tasks running); one drained, whose
// agent is leaving or cannot write its disk, not heard from since the
// server read the store, or revoked, is draining.
func (n *nodeState) condition() model.NodeCondition {
	switch {
	case (n.registered || n.doc.Removed) && n.doc.Unreachable:
		return model.NodeUnreachable
	case !n.registered || n.doc.Condition == api.NodeNotReady || n.doc.Fenced:
		return model.NodeDown
	case n.doc.Drained || n.leaving || n.doc.DiskError != "" || n.heardAtReload || n.revoked:
		return model.NodeDraining
	}
	return model.NodeUp
}

// jobIDs lists the node's jobs sorted.
func (n *nodeState) jobIDs() []string { return sortedSet(n.jobs) }

// sortedSet is the keys of set, sorted.
func sortedSet(set map[string]bool) []string {
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func ptrTime(t time.Time) *time.Time { return &t }

func ptrInt(i int) *int { return &i }

// wake ends the node's long polls' waits.
func (n *nodeState) wake() {
	if n.changed != nil {
		close(n.changed)
		n.changed = nil
	}
}

// waitChange is what the node's long polls wait on until its next change.
func (n *nodeState) waitChange() <-chan struct{} {
	if n.changed == nil {
		n.changed = make(chan struct{})
	}
	return n.changed
}

// agentReports reports whether the node's agent may still report: it
// registered, is not timed out (not ready), and its certificates are not
// revoked (revoked, it is refused, whatever its condition says until the
// heartbeat timeout). A fence of such a node that runs work, and an
// allowance to enroll it again, need force.
func (n *nodeState) agentReports() bool {
	return n.registered && n.doc.Condition != api.NodeNotReady && !n.revoked
}
