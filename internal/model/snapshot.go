package model

import (
	"math"
	"slices"
)

// NodeCondition is the administrative and health state of a node.
type NodeCondition string

// Node conditions.
const (
	NodeUp       NodeCondition = "up"
	NodeDraining NodeCondition = "draining" // runs what it has, takes nothing new
	NodeDown     NodeCondition = "down"
	// NodeUnreachable: the driver has lost touch with the node (a
	// partition). It takes nothing new and may still run what it ran, so
	// its power counts at nameplate: its base power and every GPU at TDP,
	// whatever the snapshot says runs on it.
	NodeUnreachable NodeCondition = "unreachable"
)

// GPUState is the part of a GPU's state the core needs beyond allocation.
type GPUState struct {
	// LastTenant is the tenant whose work last ran on the GPU.
	LastTenant string
	// Dirty is true until the GPU is reported scrubbed after LastTenant's
	// work; a dirty GPU may go only to LastTenant (to nobody when
	// LastTenant is unknown).
	Dirty bool
	// ClaimedBy names the pending job a preemption freed this GPU for.
	// While that job is pending, only its tenant may use the GPU, and
	// only once it is clean of any other tenant's work. Drivers set it
	// when they evict a victim and clear it when the GPU is next used.
	ClaimedBy string
	// Down is true while the node's agent reports the GPU lost (an
	// error from the driver, fallen off the bus, held by processes that
	// outlived SIGKILL): nobody may take it, whatever the fields above
	// say, until it is up again. They are kept for when it is.
	Down bool
}

// NodeState is a node's runtime state. Nodes without a NodeState are up
// and clean.
type NodeState struct {
	Node      string
	Condition NodeCondition
	GPUs      []GPUState // indexed by GPU index; may be shorter than the node's count
}

// Placement is one replica's place: a node, its GPU indices and the
// power cap the GPUs run at (0 = uncapped, i.e. the model's TDP).
type Placement struct {
	Node      string
	GPUs      []int
	PowerCapW int
	// StartCapW, when above 0, is the cap the replica started with, which
	// a recap (Plan.Recaps) has raised since: the power between it and
	// PowerCapW is lent, and a later pass may take it back by lowering
	// the cap again, never below StartCapW. 0: nothing is lent.
	StartCapW int
}

// On reports whether p is the replica on node's GPUs gpus: a replica is
// told from the others of its job by where it runs.
func (p Placement) On(node string, gpus []int) bool {
	return p.Node == node && slices.Equal(p.GPUs, gpus)
}

// HasReplica reports whether rs holds the replica on node's GPUs gpus.
func HasReplica(rs []Placement, node string, gpus []int) bool {
	return slices.ContainsFunc(rs, func(p Placement) bool { return p.On(node, gpus) })
}

// AnyCapped reports whether some replica of rs runs under a power cap.
func AnyCapped(rs []Placement) bool {
	for _, r := range rs {
		if r.PowerCapW > 0 {
			return true
		}
	}
	return false
}

// Recapped is pl under a recap to cap w (0 = uncapped): raised, it
// keeps the cap it started with as StartCapW, the first time; lowered,
// StartCapW stays.
func (pl Placement) Recapped(w int) Placement {
	if w == pl.PowerCapW {
		return pl
	}
	if pl.StartCapW == 0 {
		pl.StartCapW = pl.PowerCapW
	}
	pl.PowerCapW = w
	return pl
}

// OwnCapW is the cap a replica is entitled to: its start cap when a
// recap raised it, else its cap (0 = uncapped).
func (pl *Placement) OwnCapW() int {
	if pl.StartCapW > 0 {
		return pl.StartCapW
	}
	return pl.PowerCapW
}

// Allocation is a running job and where it runs.
type Allocation struct {
	Job            *Job
	Started        Time
	LastCheckpoint Time // 0 = Started
	Replicas       []Placement
	// Terminating is set once a preemption notice was sent; the job
	// holds its resources until EvictAt.
	Terminating bool
	EvictAt     Time
	// PreemptedFor names the job the eviction makes room for.
	PreemptedFor string
}

// End is when the allocation is expected to release its resources.
func (a *Allocation) End() Time {
	if a.Terminating {
		return a.EvictAt
	}
	if a.Job.RuntimeLimit <= 0 {
		return Forever
	}
	return a.Started.Add(a.Job.RuntimeLimit)
}

// Usage is a tenant's decayed GPU usage history.
type Usage struct {
	Tenant     string
	GPUSeconds float64 // decayed to AsOf
	AsOf       Time
}

// At is the usage decayed from AsOf to now with the given half-life
// (unchanged for now ≤ AsOf or no half-life). The core and the twin both
// read usage through it.
func (u Usage) At(now Time, halfLife Duration) float64 {
	if halfLife <= 0 || now <= u.AsOf {
		return u.GPUSeconds
	}
	return u.GPUSeconds * math.Exp2(-float64(now-u.AsOf)/float64(halfLife))
}

// GridHour is one hour of a grid zone's price and carbon intensity.
type GridHour struct {
	Start       Time // hour beginning
	PriceEURMWh float64
	CarbonGkWh  float64 // gCO2e per kWh
}

// GridSeries is a zone's hourly series, sorted by Start.
type GridSeries struct {
	Zone  string
	Hours []GridHour
}

// Snapshot is everything the core reads in one pass.
type Snapshot struct {
	Facility          *Facility
	Nodes             []NodeState  // runtime state; missing nodes are up and clean
	Running           []Allocation // jobs holding resources
	Pending           []*Job       // jobs waiting to start
	Usage             []Usage      // fair-share history
	Grid              []GridSeries // price and carbon by zone
	RecentPreemptions []Time       // when earlier victims were chosen, for the rate limit
	// AvoidNodes holds, by pending job ID, the nodes the job may not be
	// placed on: an earlier attempt could not start there (a GPU refused
	// its power cap), and would fail again. Nil: none.
	AvoidNodes map[string][]string
	Seed       int64
}
