package api

import (
	"encoding/json"
	"time"
)

// Job states. A job is pending until the scheduler starts it, running
// while its replicas run, preempting between a preemption notice and its
// replicas' exit (it then returns to pending), cancelling between a cancel
// and its replicas' exit; succeeded, failed and cancelled are final.
const (
	StatePending    = "pending"
	StateRunning    = "running"
	StatePreempting = "preempting"
	StateCancelling = "cancelling"
	StateSucceeded  = "succeeded"
	StateFailed     = "failed"
	StateCancelled  = "cancelled"
)

// Final reports whether a job in state s will not run again.
func Final(s string) bool {
	return s == StateSucceeded || s == StateFailed || s == StateCancelled
}

// Job is a job or deployment as the API shows it.
type Job struct {
	ID            string `json:"id"`
	Kind          string `json:"kind"` // job | deployment
	Tenant        string `json:"tenant"`
	PriorityClass string `json:"priority_class"`
	State         string `json:"state"`
	// Spec is the job as submitted, after defaults, in the job file's
	// JSON form (docs/jobspec.md).
	Spec       json.RawMessage `json:"spec"`
	SubmitTime time.Time       `json:"submit_time"`
	// StartTime is when the current attempt started; EndTime when the
	// job reached a final state.
	StartTime *time.Time `json:"start_time,omitempty"`
	EndTime   *time.Time `json:"end_time,omitempty"`
	// LastCheckpoint is when the current (or last) attempt last reported
	// a checkpoint saved (POST /v1/jobs/{id}/checkpoint while it runs),
	// by the server's clock; absent until it reports one, and again at
	// each new attempt. The scheduler costs preempting the job by the
	// GPU-time since then, not since StartTime.
	LastCheckpoint *time.Time `json:"last_checkpoint,omitempty"`
	// Attempt counts starts: 1 for the first, one more for each restart
	// after a failure or a preemption.
	Attempt     int `json:"attempt"`
	Restarts    int `json:"restarts"`    // restarts after failures, under the restart policy
	Preemptions int `json:"preemptions"` // times the job was preempted
	// ExitCode is the exit code of the replica that failed the last
	// attempt (-1 when it could not start or was lost; not those the
	// control plane stopped after it), 0 when every replica succeeded;
	// absent while running.
	ExitCode *int `json:"exit_code,omitempty"`
	// Message says in one line why the job is in its state.
	Message string `json:"message,omitempty"`
	// Reason is the core's reason while the job is pending.
	Reason *Reason `json:"reason,omitempty"`
	// AvoidNodes are the nodes the job's next attempts are not placed
	// on: an attempt could not start there (a GPU refused its power cap).
	AvoidNodes []string `json:"avoid_nodes,omitempty"`
	// Replicas are the current (or last) attempt's, by index; a running
	// deployment keeps only its last MaxReplacedReplicas replaced ones.
	Replicas []Replica `json:"replicas,omitempty"`
	// PreemptedFor, while the job is being preempted, is the job it makes
	// room for (left out where that is another tenant's); PreemptedAt is
	// when it was last chosen as a victim (the rate limit counts it).
	PreemptedFor string     `json:"preempted_for,omitempty"`
	PreemptedAt  *time.Time `json:"preempted_at,omitempty"`
	// Claimed, while the job waits for preemptions that made room for
	// it, are the GPUs its victims have freed, held for it until it
	// starts or ends. Stored with the job, so a claim outlives a restart
	// or a change of leader.
	Claimed []Claim `json:"claimed,omitempty"`
	// StopBy, while the attempt is being stopped (preempted, cancelled,
	// failed), is when its replicas still running get SIGKILL.
	StopBy *time.Time `json:"stop_by,omitempty"`
	// PowerWaits, while some replicas are Held, are the lowerings of
	// other jobs' power limits they wait for: a start on power lent to
	// those jobs reaches its nodes once their agents report the lower
	// limit set (docs/operations.md, lending power).
	PowerWaits []PowerWait `json:"power_waits,omitempty"`
	// Crashes, on a running deployment (or one its restart policy
	// queued again after its last replica failed), counts its replicas
	// in a row that ended (whatever the exit code) within 10 minutes of
	// their start: the back-off before the next one's replacement, or
	// the restart, doubles with each (docs/operations.md).
	Crashes int `json:"crashes,omitempty"`
	// PastAttempts names the nodes of the last MaxPastAttempts earlier
	// attempts, so that their logs are read where they ran.
	PastAttempts []PastAttempt `json:"past_attempts,omitempty"`
	Usage        Usage         `json:"usage"`
}

// MaxPastAttempts is how many earlier attempts a job keeps the nodes of.
const MaxPastAttempts = 16

// MaxReplacedReplicas is how many of its replaced replicas (Released)
// a running deployment's record keeps: the last ones; the earlier ones
// are dropped as new replicas are added, so that the record of a
// deployment whose replicas crash or end for months stays bounded.
const MaxReplacedReplicas = 16

// PastAttempt is where an earlier attempt of a job ran, and when it
// started.
type PastAttempt struct {
	Attempt int `json:"attempt"`
	// StartTime is when it started (Job.StartTime while it was the
	// current one); absent in records of older versions.
	StartTime *time.Time `json:"start_time,omitempty"`
	// Nodes are the nodes of its replicas, by replica index, or, with
	// Indices, of the replicas Indices lists (a running deployment that
	// dropped replaced replicas from its record: MaxReplacedReplicas).
	Nodes []string `json:"nodes"`
	// Indices, when set, are the replica indices of Nodes, one each.
	Indices []int `json:"indices,omitempty"`
}

// Claim is GPUs of a node held for a pending job (Job.Claimed).
type Claim struct {
	Node string `json:"node"`
	GPUs []int  `json:"gpus"`
}

// Reason is why a pending job waits, from the last scheduling pass.
type Reason struct {
	Code     string     `json:"code"`
	Message  string     `json:"message"`
	EstStart *time.Time `json:"est_start,omitempty"`
	// Pass is when the pass that gave the reason ran.
	Pass time.Time `json:"pass"`
}

// PowerWait is one lowering a held start waits for: replica Replica of
// job Job, on node Node, to PowerCapW watts. The API leaves Job out
// where it is another tenant's.
type PowerWait struct {
	Job       string `json:"job,omitempty"`
	Replica   int    `json:"replica"`
	Node      string `json:"node"`
	PowerCapW int    `json:"power_cap_w"`
}

// Replica states, as the agent reports them.
const (
	ReplicaAssigned = "assigned" // handed to the agent, not yet reported running
	ReplicaRunning  = "running"
	ReplicaExited   = "exited"
	ReplicaFailed   = "failed" // could not be started (no such command, …)
	ReplicaLost     = "lost"   // its node stopped reporting, or its agent died after starting it
)

// Replica is one replica of the current (or last) attempt.
type Replica struct {
	// Index is the replica's place in the attempt's record, the task's
	// identity (CARNOT_REPLICA, the replica of logs and task reports).
	Index int `json:"index"`
	// Rank is its RANK, a slot of 0..WORLD_SIZE-1 that no other live
	// replica holds: the index at the attempt's start; a deployment's
	// replacement, or a replica it gains, takes the lowest rank free.
	Rank int    `json:"rank"`
	Node string `json:"node"`
	GPUs []int  `json:"gpus"`
	// PowerCapW is the limit on its GPUs (0: their own). A recap may
	// raise it while the replica runs, lending it power, and lower it
	// again to take the loan back, never below StartPowerCapW.
	PowerCapW int `json:"power_cap_w,omitempty"`
	// StartPowerCapW, set once a recap raised the replica's cap, is the
	// cap it started with: its own, which a recap never lowers it below.
	StartPowerCapW int `json:"start_power_cap_w,omitempty"`
	// PowerLimitW, set while its GPUs may run above PowerCapW, is the
	// limit they may run at (0: their own): after a recap lowered the
	// cap, the one they had, until its agent reports the lower one set;
	// the one its agent reports in force when a GPU refused the cap. The
	// scheduler counts the replica at it.
	PowerLimitW *int `json:"power_limit_w,omitempty"`
	// Held, on an assigned replica, says the server keeps it from its
	// node until the lowerings in the job's PowerWaits are done.
	Held bool `json:"held,omitempty"`
	// AssignedAt is when it was given its GPUs: its GPU time counts from
	// then (absent in records of older versions: the attempt's start).
	AssignedAt *time.Time `json:"assigned_at,omitempty"`
	// Released, on an ended replica of a deployment that runs on, says
	// its GPUs were freed and its GPU time added to the job's usage.
	Released bool `json:"released,omitempty"`
	// ReplaceAt, on an ended replica of a deployment that runs on and
	// crashes in a row, is when its back-off ends: its GPUs stay the
	// deployment's until then, and it is replaced after.
	ReplaceAt *time.Time `json:"replace_at,omitempty"`
	State     string     `json:"state"`
	PID       int        `json:"pid,omitempty"`
	// CPUSeconds, on an ended replica whose agent ran it in a cgroup of
	// its own, is the CPU time all its processes used, user and system
	// (api.TaskStatus.CPUSeconds).
	CPUSeconds *float64   `json:"cpu_seconds,omitempty"`
	ExitCode   *int       `json:"exit_code,omitempty"`
	Signal     string     `json:"signal,omitempty"` // e.g. "killed" when ended by a signal
	StartedAt  *time.Time `json:"started_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	Error      string     `json:"error,omitempty"`

	// StopBy, on a replica of a running deployment that a partial
	// preemption takes, is when it must have stopped; PreemptedFor is
	// the job its GPUs go to. The deployment runs on with its others.
	StopBy       *time.Time `json:"stop_by,omitempty"`
	PreemptedFor string     `json:"preempted_for,omitempty"`
}

// Usage is what a job (or a tenant) consumed: GPU time and energy, with
// its cost and carbon at the site's hourly price and carbon intensity.
type Usage struct {
	GPUSeconds float64 `json:"gpu_seconds"`
	ITKWh      float64 `json:"it_kwh"`       // GPU energy measured by the agents
	KWh        float64 `json:"facility_kwh"` // IT energy × the site's PUE
	EUR        float64 `json:"eur"`
	GCO2e      float64 `json:"gco2e"`
	// UnpricedKWh is the part of KWh drawn in hours the site's grid
	// series does not hold: EUR and GCO2e leave it out.
	UnpricedKWh float64 `json:"unpriced_kwh"`
}

// Add adds u2 to u.
func (u *Usage) Add(u2 Usage) {
	u.GPUSeconds += u2.GPUSeconds
	u.ITKWh += u2.ITKWh
	u.KWh += u2.KWh
	u.EUR += u2.EUR
	u.GCO2e += u2.GCO2e
	u.UnpricedKWh += u2.UnpricedKWh
}

// JobList is one page of jobs. Next, when set, is the cursor of the next
// page (the `after` query parameter).
type JobList struct {
	Jobs []Job  `json:"jobs"`
	Next string `json:"next,omitempty"`
}

// Event is one thing that happened to a job (or a node), in the order the
// server recorded it.
type Event struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Job     string    `json:"job,omitempty"`
	Tenant  string    `json:"tenant,omitempty"`
	Node    string    `json:"node,omitempty"`
	Type    string    `json:"type"`
	Message string    `json:"message"`
	// Actor is who caused the event: the subject of the API credential
	// that asked for it ("token:NAME/ID", "node:NAME", "job:JOB/ATTEMPT"), or "scheduler".
	Actor string `json:"actor,omitempty"`
}

// Event types.
const (
	EventSubmitted  = "submitted"
	EventStarted    = "started"    // the scheduler placed the job
	EventRunning    = "running"    // every replica reported running (a deployment: as many as its replicas)
	EventReplica    = "replica"    // a replica changed state
	EventPreempt    = "preempt"    // a preemption notice
	EventEvicted    = "evicted"    // a preempted job's replicas ended; back to pending
	EventCheckpoint = "checkpoint" // the job acknowledged its checkpoint
	EventRestart    = "restart"    // a failed attempt is retried
	EventDeferred   = "deferred"
	EventCancel     = "cancel"
	EventFinished   = "finished"     // succeeded, failed or cancelled
	EventNode       = "node"         // a node registered, drained, went down…
	EventRejected   = "rejected"     // a submission refused: invalid, or not allowed
	EventToken      = "token"        // a token created or revoked
	EventSecret     = "secret"       // a tenant secret set or deleted
	EventPolicy     = "audit-policy" // the audit log's own: a retention below the minimum, a signer key changed, a rewritten history found
	// EventSovereignty: at a start of the server, a running job found in
	// sites its facility's policy no longer allows for it; or a change of
	// that policy since the last start (a tenant's, a site's or a data
	// class's jurisdictions).
	EventSovereignty = "sovereignty"
	// EventRecap: the scheduler changed the power cap of a running job's
	// replicas: raised (or lifted) it into power a pass left free, or
	// lowered it to take that lent power back.
	EventRecap = "recap"
	// EventPowerHold: a start's replicas are held from their agents
	// until the agents of the jobs whose lent power it takes report the
	// lower caps set, and then handed out.
	EventPowerHold = "power-hold"
	// EventFacility: at a start of the server, a change of the facility
	// file reached a running job: its tenant, its priority class or its
	// data class is no longer in the facility, or no longer allowed for
	// it; or its tenant, made exclusive, shares a node with another
	// tenant's work (see docs/operations.md, "Changing the facility
	// file"); or, with no job, a change since the last start of the
	// terms that decide who gets the GPUs: a tenant's quota, weight,
	// priority classes or tenancy, a cohort, a priority class, the
	// scheduling policy.
	EventFacility = "facility"
	// EventPowerLimit: a running replica's agent reports its GPUs at a
	// power limit above its cap (a GPU refused the cap), which the
	// scheduler counts it at, or reports the cap set again.
	EventPowerLimit = "power-limit"
	// EventEligible: a job held for its dependencies (depends_on) is
	// queued, the last of them having ended as its type asks.
	EventEligible = "eligible"
	// EventLeader: a replica of a highly available control plane took
	// the leader lease and runs the scheduler, under a new epoch (the
	// fencing token of its writes). Actor server:lease.
	EventLeader = "leader"
)

// EventList is a page of events after a sequence number.
type EventList struct {
	Events []Event `json:"events"`
}

// Why is /v1/jobs/{id}/why: the job's state and, while it is pending,
// the core's reason and estimated start, with the policy that applies.
type Why struct {
	Job      string     `json:"job"`
	State    string     `json:"state"`
	Reason   *Reason    `json:"reason,omitempty"`
	Message  string     `json:"message"`
	EstStart *time.Time `json:"est_start,omitempty"`
	// Jurisdictions are the tags the job may run under and Sites the
	// facility's sites it may run on: those carrying one of its tenant's,
	// one of its own and one of its data class's tags.
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	Sites         []string `json:"sites,omitempty"`
	// GPUs, for a pending job that asks for GPUs, are the GPUs it could
	// use and what holds them; nil otherwise.
	GPUs *WhyGPUs `json:"gpus,omitempty"`
}

// WhyGPUs are the GPUs a pending job could use — those of its GPU models
// (any model when it names none) on the sites it may run on — as the
// server holds them now: Total = Free + Unavailable + OwnGPUs +
// Others.GPUs.
type WhyGPUs struct {
	// Models are the GPU models counted: the job's, or, when it names
	// none, those of the nodes on its sites.
	Models []string `json:"models,omitempty"`
	Total  int      `json:"total"`
	// Free GPUs are held by no running job, on nodes that are up. A free
	// GPU may still be kept from the job: dirty with another tenant's
	// work, or claimed for a job a preemption freed it for.
	Free int `json:"free"`
	// Unavailable GPUs are held by no running job, on nodes that take
	// nothing new (draining, down, unreachable or never registered) or
	// down themselves (their node's agent lists them in gpus_down).
	Unavailable int `json:"unavailable"`
	// Own are the running jobs of the job's tenant that hold some of
	// these GPUs, at most 10, the soonest to end first (those without an
	// expected end last); OwnMore counts the rest, and OwnGPUs are the
	// GPUs they all hold.
	Own     []WhyHolder `json:"own,omitempty"`
	OwnMore int         `json:"own_more"`
	OwnGPUs int         `json:"own_gpus"`
	// Others are the other tenants' running jobs that hold some of them:
	// figures only, never a job's ID, name or tenant.
	Others WhyOthers `json:"others"`
}

// WhyHolder is a job of the asking job's tenant that holds GPUs it could
// use.
type WhyHolder struct {
	Job string `json:"job"`
	// GPUs are the GPUs it holds among those counted.
	GPUs int `json:"gpus"`
	// EndsAt is when it is expected to release them: its start plus its
	// runtime limit, or the end of the grace of a stop under way; nil
	// without a runtime limit.
	EndsAt *time.Time `json:"ends_at,omitempty"`
}

// WhyOthers sums up the other tenants' jobs that hold GPUs a pending job
// could use.
type WhyOthers struct {
	Jobs int `json:"jobs"`
	GPUs int `json:"gpus"`
	// FirstEnd is the earliest expected end among them (see
	// WhyHolder.EndsAt); nil when none has one.
	FirstEnd *time.Time `json:"first_end,omitempty"`
}

// CheckpointAck is the body of POST /v1/jobs/{id}/checkpoint; empty is fine.
type CheckpointAck struct {
	Message string `json:"message,omitempty"`
	// Replica is the index of the replica the call comes from (the
	// task's $CARNOT_REPLICA), nil for none named. It matters while some
	// of a deployment's replicas leave for a partial preemption: a call
	// from one that stays is its routine checkpoint, recorded, not an
	// acknowledgement that stops those leaving.
	Replica *int `json:"replica,omitempty"`
}
