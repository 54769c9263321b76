package api

import "time"

// Register is POST /v1/agent/register: a node agent announces its node.
// Registering again (after an agent restart) updates the node.
type Register struct {
	Name      string    `json:"name"`
	Site      string    `json:"site"`
	Address   string    `json:"address"` // where the agent serves logs, http://host:port
	CPUs      int       `json:"cpus"`
	MemoryGiB int       `json:"memory_gib"`
	GPUs      []GPUInfo `json:"gpus"`
	FakeGPUs  bool      `json:"fake_gpus,omitempty"`
	Version   string    `json:"version,omitempty"`
	// GPUsDown are the GPUs that cannot be used (lost: fallen off the
	// bus, in need of a reset): the server places nothing on
	// them. A GPU down may have no UUID (it could not be read), and has
	// its node's model.
	GPUsDown []GPUDown `json:"gpus_down,omitempty"`
	// Tasks are the tasks the agent still runs and those that ended
	// that it still reports in its heartbeats (after an agent restart,
	// those the previous agent started, lost; after a reconnection,
	// those it kept).
	Tasks []TaskStatus `json:"tasks,omitempty"`
}

// GPUInfo is one GPU of a node, as NVML (or the fake device set) reports it.
type GPUInfo struct {
	Index int `json:"index"` // NVML's
	// UUID is NVML's (GPU-…): the server names the GPU by it in a task's
	// CUDA_VISIBLE_DEVICES. Every GPU of a registration has one or none,
	// but for a GPU down (Register.GPUsDown), which may have none.
	UUID      string `json:"uuid"`
	Model     string `json:"model"` // catalog name, e.g. H100
	MemoryMiB int    `json:"memory_mib"`
	// PowerLimitW is the current power limit; MinCapW..MaxCapW the range
	// it may be set to.
	PowerLimitW int `json:"power_limit_w,omitempty"`
	MinCapW     int `json:"min_cap_w,omitempty"`
	MaxCapW     int `json:"max_cap_w,omitempty"`
}

// GPUDown is a GPU of a node that cannot be used, and why (NVML's error).
type GPUDown struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// Registered answers Register.
type Registered struct {
	Node string `json:"node"`
	// HeartbeatSeconds is how often the agent must report; a node silent
	// for HeartbeatTimeoutSeconds becomes not-ready.
	HeartbeatSeconds        float64 `json:"heartbeat_seconds"`
	HeartbeatTimeoutSeconds float64 `json:"heartbeat_timeout_seconds"`
	// StopAfterDisconnectSeconds, when above zero, is how long the agent
	// may go without a heartbeat the server answered before it stops its
	// tasks (SIGTERM, each task's grace, SIGKILL): the server counts a
	// silent node's replicas lost only once that is done. 0: tasks run on.
	StopAfterDisconnectSeconds float64 `json:"stop_after_disconnect_seconds,omitempty"`
	// Jurisdictions are the tags of the node's site: the agent refuses a
	// task whose jurisdictions have none of them.
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	// LogsToken is the bearer token the server presents to the agent's
	// log server: the agent serves logs to its holder only.
	LogsToken string `json:"logs_token,omitempty"`
}

// Heartbeat is POST /v1/agent/nodes/{name}/heartbeat: the agent's tasks
// and GPU telemetry. The agent sends one at its interval and at once when
// a task changes state.
type Heartbeat struct {
	Tasks []TaskStatus `json:"tasks"`
	GPUs  []GPUSample  `json:"gpus"`
	// Leaving is set by an agent that is shutting down: its node takes no
	// new work (a stopped task's next attempt among it), as a drained
	// node, until a heartbeat or registration without it.
	Leaving bool `json:"leaving,omitempty"`
	// DiskError, set while the agent cannot write its data directory (a
	// full or read-only disk), says why: every start there would fail,
	// so the node takes no new work, as a drained one, until a heartbeat
	// without it.
	DiskError string `json:"disk_error,omitempty"`
	// GPUsDown are the GPUs that cannot be used now, as in Register,
	// read again for every heartbeat: a GPU that is not listed is up.
	// The server places nothing on a GPU down.
	GPUsDown []GPUDown `json:"gpus_down,omitempty"`
	// AssignmentsVersion is the version of the last assignments the
	// agent had applied (the caps of its tasks set) when it read the
	// power limits its Tasks report. The server takes a limit at or
	// below a task's cap only from a report at least as new as the
	// assignments that last changed a cap on the node: a heartbeat
	// built before a cap was raised and delivered after it was lowered
	// again says nothing of the lower limit. Absent (an older agent):
	// its reports never end a lowering.
	AssignmentsVersion *int64 `json:"assignments_version,omitempty"`
}

// TaskStatus is a task as the agent sees it.
type TaskStatus struct {
	Job     string `json:"job"`
	Replica int    `json:"replica"`
	Attempt int    `json:"attempt"`
	// State is running, exited, failed or lost (ReplicaRunning, …): lost
	// when the node's previous agent started the task and died, and the
	// reporting agent killed what was left of it.
	State     string     `json:"state"`
	PID       int        `json:"pid,omitempty"`
	ExitCode  *int       `json:"exit_code,omitempty"`
	Signal    string     `json:"signal,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	Error     string     `json:"error,omitempty"`
	// Stopping is set once the agent sent SIGTERM (cancel, preemption).
	Stopping bool `json:"stopping,omitempty"`
	// PowerCapW, for a running task, is the power limit the agent has
	// set on its GPUs, in watts: the task's cap once every GPU took it
	// (0: the GPUs' own limit). Absent from agents older than this
	// field. The server waits for it after lowering a cap (a recap)
	// before it hands out a start that counts on the power freed.
	PowerCapW *int `json:"power_cap_w,omitempty"`
	// CapRefused, on a failed task, says the agent did not start it
	// because a GPU refused its power cap (exit code 126): the job's next
	// attempts avoid the node, whose GPUs would refuse it again.
	CapRefused bool `json:"cap_refused,omitempty"`
	// AvoidNode, on a failed task, says the agent could not start it for
	// a cause of the node's own, which another node may not have: a GPU
	// refused its cap, the program (named bare or by an absolute path)
	// or what runs it (its #! interpreter, its dynamic loader) is
	// missing or not executable there, the work directory does not
	// exist there. The job's next attempts avoid the node. Not set for a
	// cause that is the job's on every node (a program relative to its
	// work directory missing there, a command too long) nor for a
	// program that ran and exited 126 or 127 itself.
	AvoidNode bool `json:"avoid_node,omitempty"`
	// CPUSeconds, on an ended task that ran in a cgroup of its own, is
	// the CPU time all its processes used (the cgroup's cpu.stat
	// usage_usec, user and system); absent without a cgroup.
	CPUSeconds *float64 `json:"cpu_seconds,omitempty"`
}

// GPUSample is one GPU's telemetry at one instant.
type GPUSample struct {
	Index       int       `json:"index"`
	Time        time.Time `json:"time"`
	PowerW      float64   `json:"power_w"`
	Utilization float64   `json:"utilization"` // percent, 0–100
	MemUsedMiB  float64   `json:"mem_used_mib"`
	TempC       float64   `json:"temp_c"`
}

// HeartbeatReply answers a heartbeat: the current assignments version, so
// the agent knows whether to fetch them.
type HeartbeatReply struct {
	Version int64 `json:"version"`
	// HeartbeatSeconds is the server's heartbeat interval, as in
	// Registered: the agent takes it from every answer, so that a server
	// restarted with another interval reaches agents registered before.
	// Absent (an older server): the agent keeps its interval.
	HeartbeatSeconds *float64 `json:"heartbeat_seconds,omitempty"`
	// StopAfterDisconnectSeconds is the server's, as in Registered: the
	// agent takes it from every answer, so that a server restarted with
	// another setting (or a new leader) reaches agents registered
	// before. Absent (an older server): the agent keeps its value.
	StopAfterDisconnectSeconds *float64 `json:"stop_after_disconnect_seconds,omitempty"`
	// Jurisdictions are the tags of the node's site, as in Registered,
	// for the same reason. Absent (an older server): the agent keeps
	// those of its registration.
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	// LogsToken is the log server's token, as in Registered: a server
	// restarted with another token key presents another, which agents
	// registered before learn here. Absent (an older server): the agent
	// keeps that of its registration.
	LogsToken string `json:"logs_token,omitempty"`
}

// Assignments is GET /v1/agent/nodes/{name}/assignments: everything the
// node should be running now. The agent starts what it does not run,
// stops tasks marked Stop (SIGTERM, the grace, SIGKILL of the process
// group) and kills, as orphans, tasks that are not listed at all.
// With ?after=V&wait=30s the call waits until the version exceeds V.
type Assignments struct {
	Version int64  `json:"version"`
	Tasks   []Task `json:"tasks"`
	// UnfinishedJobs are the jobs not in a final state (pending or
	// running) that have had a replica on the node, in this attempt or an
	// earlier one: the agent keeps the logs and work directories of their
	// ended replicas there past its count and age limits (its disk limit
	// may still take them). A job leaves the list, and the node's version
	// changes, when it finishes. Always sent, empty or not; an agent
	// that gets none (null, absent: an older server) keeps only the
	// tasks listed.
	UnfinishedJobs []string `json:"unfinished_jobs"`
}

// Task is one replica to run.
type Task struct {
	Job     string            `json:"job"`
	Tenant  string            `json:"tenant"`
	Replica int               `json:"replica"`
	Attempt int               `json:"attempt"`
	Command []string          `json:"command"`
	Env     map[string]string `json:"env"` // complete: CARNOT_*, WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, CUDA_VISIBLE_DEVICES
	WorkDir string            `json:"workdir,omitempty"`
	// Token is the job token of the job's current attempt
	// (auth.Hasher.JobToken), which the agent gives the task as
	// CARNOT_TOKEN: it lets the task read its job and report its
	// checkpoints while the attempt runs, nothing else. It is not in Env,
	// so that nothing that shows or keeps Env holds it; "" from a server
	// older than job tokens.
	Token string `json:"token,omitempty"`
	GPUs  []int  `json:"gpus"`
	// PowerCapW is the power limit to set on the GPUs (0 = the default:
	// the limit they had when the agent started). It may change while the
	// task runs (the scheduler's recap): rise on lent power and fall back,
	// never below the cap the task started with. The agent sets the new
	// limit on the task's GPUs, or restores their own when it becomes 0.
	// An agent older than recaps ignores the change and keeps the cap the
	// task started with: never above what the server counts.
	PowerCapW int `json:"power_cap_w,omitempty"`
	// Stop asks the agent to stop the task: SIGTERM now, SIGKILL of the
	// whole process group GraceSeconds later.
	Stop         bool    `json:"stop,omitempty"`
	GraceSeconds float64 `json:"grace_seconds"`
	// Deadline, when set, is when the agent stops the task on its own
	// (the job's runtime limit).
	Deadline *time.Time `json:"deadline,omitempty"`
	// Jurisdictions are the tags the job may run under, TenantJurisdictions
	// its tenant's and DataClassJurisdictions those of its data class
	// (each empty: any). Before it starts the task the agent checks that
	// its site carries one tag of each list that is not empty, the rule
	// the server placed it by (plan.SiteAllowed).
	Jurisdictions          []string `json:"jurisdictions,omitempty"`
	TenantJurisdictions    []string `json:"tenant_jurisdictions,omitempty"`
	DataClassJurisdictions []string `json:"data_class_jurisdictions,omitempty"`
}
