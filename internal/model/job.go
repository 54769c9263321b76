package model

import "strings"

// Kind separates gangs from deployments.
type Kind string

// Job kinds.
const (
	KindJob        Kind = "job"        // a gang: all replicas start together or none does
	KindDeployment Kind = "deployment" // independent long-running replicas with a minimum
)

// TopologyLevel is a level of the facility's topology, smallest first.
type TopologyLevel int

// Topology levels, from the tightest to the loosest.
const (
	LevelNode TopologyLevel = iota
	LevelNVLink
	LevelLeaf
	LevelRack
	LevelHall
	LevelSite
	LevelAny
)

var levelNames = [...]string{"node", "nvlink", "leaf", "rack", "hall", "site", "any"}

func (l TopologyLevel) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return "invalid"
	}
	return levelNames[l]
}

// ParseLevel parses a level name.
func ParseLevel(s string) (TopologyLevel, bool) {
	for i, n := range levelNames {
		if n == s {
			return TopologyLevel(i), true
		}
	}
	return 0, false
}

// Topology is a job's placement requirement.
type Topology struct {
	Level    TopologyLevel // LevelAny (the zero value is LevelNode; set explicitly)
	Required bool          // false: preferred only
}

// Job is a unit of work waiting to run or running: a gang of Replicas ×
// GPUsPerReplica, or a deployment of independent replicas.
type Job struct {
	ID               string
	Kind             Kind
	Tenant           string
	PriorityClass    string
	Replicas         int
	MinReplicas      int      // deployments: fewest replicas worth starting
	GPUsPerReplica   int      // 0 allowed for CPU-only replicas
	GPUModels        []string // acceptable models; empty = any
	CPUsPerReplica   int
	MemGiBPerReplica int
	Preemptible      bool     // resolved from the class unless the spec says
	CheckpointGrace  Duration // time needed after a notice to save state
	RuntimeLimit     Duration // 0 = none; also the backfill estimate
	Jurisdictions    []string // allowed tags; empty = tenant's
	DataClass        string
	EarliestStart    Time // 0 = now
	Deadline         Time // 0 = none; with EarliestStart, the flexibility window
	Topology         Topology
	ExclusiveNode    bool
	SubmitTime       Time
	// SubmitOrder orders jobs submitted in the same second (SubmitTime is
	// whole seconds): the live server gives the nanoseconds of its
	// submission; 0 where the order within a second is the IDs' (the twin).
	SubmitOrder int64
	// Runtime fields used by drivers, not by the core.
	Command []string
	Env     map[string]string // added to the agent's environment
	WorkDir string            // the replicas' working directory; "" = the agent's choice
	Restart RestartPolicy
	// DependsOn are the jobs that must end, each as its Dependency.Type
	// says, before this one may start (Slurm's --dependency). The
	// drivers hold a job back until they have; the core never sees a job
	// whose dependencies are unmet.
	DependsOn []Dependency
}

// Dependency is a job that must end before its dependent may start, and
// how.
type Dependency struct {
	Job  string
	Type DepType
}

// String is the dependency as a job file writes it: the job's ID for
// AfterOK, else "type:id", e.g. "afterany:train".
func (d Dependency) String() string {
	if d.Type == AfterOK {
		return d.Job
	}
	return d.Type.String() + ":" + d.Job
}

// DepType says how a dependency must end for its dependent to start:
// Slurm's dependency types of those names.
type DepType uint8

// Dependency types.
const (
	AfterOK    DepType = iota // it succeeded; the dependent is cancelled when it fails or is cancelled
	AfterAny                  // it ended: succeeded, failed or cancelled
	AfterNotOK                // it failed or was cancelled; the dependent is cancelled when it succeeds
)

var depTypeNames = [...]string{"afterok", "afterany", "afternotok"}

func (t DepType) String() string {
	if int(t) >= len(depTypeNames) {
		return "invalid"
	}
	return depTypeNames[t]
}

// ParseDepType parses a dependency type's name.
func ParseDepType(s string) (DepType, bool) {
	for i, n := range depTypeNames {
		if n == s {
			return DepType(i), true
		}
	}
	return 0, false
}

// Met reports whether a dependency of type t that ended, succeeded or
// not, lets its dependent start; when it does not, the dependent never
// will.
func (t DepType) Met(succeeded bool) bool {
	switch t {
	case AfterAny:
		return true
	case AfterNotOK:
		return !succeeded
	}
	return succeeded
}

// DependencyWait is the reason of a job held for the dependencies
// waits, each with its state (state gives it), those of one type
// together: "dependency: waits for prep (running), train (pending) to
// succeed and eval (running) to end".
func DependencyWait(waits []Dependency, state func(id string) string) string {
	var parts []string
	for t := range DepType(len(depTypeNames)) {
		var ids []string
		for _, d := range waits {
			if d.Type == t {
				ids = append(ids, d.Job+" ("+state(d.Job)+")")
			}
		}
		if len(ids) > 0 {
			parts = append(parts, strings.Join(ids, ", ")+" to "+t.Awaits())
		}
	}
	if n := len(parts); n > 2 {
		parts = []string{strings.Join(parts[:n-1], ", "), parts[n-1]}
	}
	return "dependency: waits for " + strings.Join(parts, " and ")
}

// Awaits says what a dependency of type t waits for, as reasons say it:
// "succeed", "end", "fail or be cancelled".
func (t DepType) Awaits() string {
	switch t {
	case AfterAny:
		return "end"
	case AfterNotOK:
		return "fail or be cancelled"
	}
	return "succeed"
}

// RestartPolicy says what the live control plane does when an attempt of
// a job fails (a replica exits non-zero or cannot start): the whole gang
// is stopped, then either the job fails (the zero value, "never") or it
// goes back to the queue, at most MaxRetries times.
type RestartPolicy struct {
	OnFailure  bool
	MaxRetries int
}

// TotalGPUs is the GPUs the whole gang needs.
func (j *Job) TotalGPUs() int { return j.Replicas * j.GPUsPerReplica }

// LatestEnd is when the job's runtime limit ends if it starts as soon as
// it may: the limit from the later of its submission and its earliest
// start (that time itself without a limit), saturating at Forever. The
// job file loader (jobspec) and the twin (scenario) hold it to MaxTime.
func (j *Job) LatestEnd() Time { return max(j.SubmitTime, j.EarliestStart).Add(j.RuntimeLimit) }

// Flexible reports whether the job has a window it may be deferred within.
func (j *Job) Flexible() bool { return j.Deadline > 0 }

// AcceptsModel reports whether m is one of the job's acceptable models.
func (j *Job) AcceptsModel(m string) bool {
	if len(j.GPUModels) == 0 {
		return true
	}
	for _, x := range j.GPUModels {
		if x == m {
			return true
		}
	}
	return false
}
