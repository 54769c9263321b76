package model

import "strings"

// Start starts a job (or some replicas of a deployment).
type Start struct {
	Job      string
	Replicas []Placement
	// PowerW is the site IT power the start adds, as the core estimated it.
	PowerW float64
}

// Preemption evicts a running job for another: a notice now, the eviction
// after the victim's checkpoint grace.
//
// Replicas, when not empty, makes it partial: only those replicas of a
// running deployment (placements as the snapshot lists them) are taken,
// all above its MinReplicas (at least one stays), and the deployment runs
// on with the others. Until they have left, a snapshot lists the replicas
// taken as a Terminating allocation (EvictAt, PreemptedFor) of their own,
// under the job LeavingJob, and the others as the deployment's running
// allocation; the deployment is no victim again until then.
type Preemption struct {
	Victim      string
	Beneficiary string
	Reason      string
	NoticeAt    Time
	EvictAt     Time
	// LostGPUSeconds is the work since the victim's last checkpoint (of
	// the replicas taken, when partial).
	LostGPUSeconds float64
	Replicas       []Placement
}

// Partial reports whether pr takes only some replicas of its victim.
func (pr *Preemption) Partial() bool { return len(pr.Replicas) > 0 }

// KeepsReplicas is the fewest replicas a deployment keeps when a partial
// preemption takes some: its MinReplicas, at least 1 (taking them all is
// a whole preemption).
func KeepsReplicas(j *Job) int { return max(1, min(j.MinReplicas, j.Replicas)) }

// Deferral holds a flexible job back until a better hour.
type Deferral struct {
	Job    string
	Until  Time
	Reason string
}

// Recap changes the power cap of a running job's GPUs: every replica
// runs at PowerCapW from now on (0 = uncapped, the model's TDP). Raised,
// a replica runs on power lent to it (Placement.StartCapW keeps the cap
// it started with); lowered, it gives lent power back for the pass's
// starts, never below its own cap (Placement.OwnCapW).
type Recap struct {
	Job       string
	PowerCapW int
	// PowerW is the site IT power the recap adds (below 0: frees), as the
	// core estimated it.
	PowerW float64
}

// Reservation holds resources for a blocked job at its estimated start.
type Reservation struct {
	Job      string
	Nodes    []string
	EstStart Time
}

// ReasonCode classifies why a job is still pending.
type ReasonCode string

// Reason codes, one per policy that can hold a job back.
const (
	ReasonQuota       ReasonCode = "quota"
	ReasonCapacity    ReasonCode = "capacity"
	ReasonTopology    ReasonCode = "topology"
	ReasonPower       ReasonCode = "power"
	ReasonSovereignty ReasonCode = "sovereignty"
	ReasonBackfill    ReasonCode = "backfill"
	ReasonDeferred    ReasonCode = "deferred"
	ReasonNotBefore   ReasonCode = "not-before"
	ReasonPreempting  ReasonCode = "preempting"
	ReasonPriority    ReasonCode = "priority"
	ReasonInvalid     ReasonCode = "invalid"
	ReasonDeadline    ReasonCode = "deadline"
	// ReasonDependency is the drivers': a job held until the jobs it
	// depends on (Job.DependsOn) have succeeded; the core never gives it.
	ReasonDependency ReasonCode = "dependency"
)

// Pending explains one job that did not start in this pass.
type Pending struct {
	Job     string
	Code    ReasonCode
	Message string // one human line
	// EstStart is the estimated start time, when the core computed one.
	EstStart Time
}

// Plan is the core's answer for one pass. Every pending job of the
// snapshot appears exactly once in Starts or Pending, except in a partial
// plan (sched.Quick), which covers only the jobs it considered.
type Plan struct {
	Now          Time
	Partial      bool
	Starts       []Start
	Preemptions  []Preemption
	Deferrals    []Deferral
	Reservations []Reservation
	Pending      []Pending
	// Recaps change the caps of running jobs (Policy.PowerRecap): raised
	// on power the pass left after its starts, lowered where its starts
	// took lent power back. One per job, in job ID order.
	Recaps []Recap
}

// leavingSuffix ends the ID a snapshot lists a deployment's leaving
// replicas under: no job ID has a '/' (job IDs are letters, digits, '.',
// '_' and '-').
const leavingSuffix = "/leaving"

// LeavingJob is deployment j as a snapshot lists its replicas that a
// partial preemption takes, until they have left: a copy of j under the
// ID LeavingID(j.ID). Listed under j's own ID, the job would hold two
// allocations, which the core's and the checker's views, kept between
// passes by job, follow only by rebuilding them at every pass.
func LeavingJob(j *Job) *Job {
	c := *j
	c.ID = LeavingID(j.ID)
	return &c
}

// LeavingID is the ID of LeavingJob of the job with ID id.
func LeavingID(id string) string { return id + leavingSuffix }

// LeavingOf is the deployment whose leaving replicas a LeavingID names;
// ok is false for any other ID.
func LeavingOf(id string) (string, bool) { return strings.CutSuffix(id, leavingSuffix) }
