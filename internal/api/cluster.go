package api

import (
	"encoding/json"
	"time"
)

// Node conditions as the API shows them.
const (
	NodeReady    = "ready"
	NodeDraining = "draining" // ready, takes no new work
	NodeNotReady = "not-ready"
)

// Node is a registered node.
type Node struct {
	Name      string `json:"name"`
	Site      string `json:"site"`
	Address   string `json:"address,omitempty"` // the agent's own HTTP address (logs)
	CPUs      int    `json:"cpus"`
	MemoryGiB int    `json:"memory_gib"`
	GPUModel  string `json:"gpu_model,omitempty"`
	GPUs      int    `json:"gpus"`
	// GPUUUIDs are the GPUs' UUIDs by index, as its agent's NVML reported
	// them at registration: a task's CUDA_VISIBLE_DEVICES names its GPUs
	// by them. Empty when the agent reported none (the tasks then get
	// indices in PCI bus order); "" for a GPU down at registration.
	GPUUUIDs []string `json:"gpu_uuids,omitempty"`
	GPUsUsed int      `json:"gpus_used"`
	// Condition is ready, draining or not-ready; Drained says an operator
	// drained it (it stays drained when it becomes ready again).
	Condition string `json:"condition"`
	Drained   bool   `json:"drained"`
	// Fenced says an operator declared the node out of service (powered
	// off, nothing runs there): it takes no work, whatever its condition,
	// and its lost replicas count as stopped, until an operator unfences
	// it.
	Fenced bool `json:"fenced"`
	// Unreachable says the node may still run work the server no longer
	// assigns it: replicas lost while it was silent, or tasks its agent
	// reported running unassigned. Until its agent reports none, it takes
	// no work and its power counts at nameplate. The server sets it;
	// an agent cannot.
	Unreachable bool `json:"unreachable,omitempty"`
	// Removed says the facility file no longer lists the node (or lists
	// it in another site), which may still run work (Unreachable): its
	// agent is refused, so it cannot be told to stop it. It stays in its
	// site, counted at nameplate, until an operator fences it and
	// forgets it (a node moved then takes its place in its new site).
	// The server sets it.
	Removed bool `json:"removed,omitempty"`
	// NotHeardSinceRestart says the server has not heard from the node's
	// agent since it started (a restart, a new leader) and read the node,
	// ready, from the store: the agent may be gone for good, so the node
	// runs what it has and takes no new work (it shows as draining) until
	// its agent heartbeats or registers, or is not ready at the heartbeat
	// timeout. LastHeartbeat is then when the server read the store. The
	// server sets it; it is not stored.
	NotHeardSinceRestart bool `json:"not_heard_since_restart,omitempty"`
	// CertificatesRevoked says an operator-admin revoked the node's
	// certificates (carnot revoke-node): its agent is refused, and the
	// node takes no new work (it shows as draining) until it enrolls
	// again. The server sets it.
	CertificatesRevoked bool `json:"certificates_revoked,omitempty"`
	// DiskError, set while the node's agent says it cannot write its
	// data directory (a full or read-only disk: every start there would
	// fail), is why; the node takes no new work until its agent says it
	// can again, or a new agent registers.
	DiskError string `json:"disk_error,omitempty"`
	// GPUsDown are the node's GPUs its agent last reported down (lost:
	// fallen off the bus, in need of a reset), with why: the scheduler
	// places nothing on them until the agent reports them up again.
	GPUsDown      []GPUDown `json:"gpus_down,omitempty"`
	FakeGPUs      bool      `json:"fake_gpus,omitempty"`
	Registered    time.Time `json:"registered"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// HeartbeatSeconds is the heartbeat interval the server gave the
	// node's agent when it registered. Agents take the server's interval
	// from every heartbeat's answer; an older one keeps this one, and
	// the server counts a GPU's energy across a gap of up to three of
	// the longer of the two.
	HeartbeatSeconds float64     `json:"heartbeat_seconds,omitempty"`
	Telemetry        []GPUSample `json:"telemetry,omitempty"`
	Jobs             []string    `json:"jobs,omitempty"`
}

// NodeList is GET /v1/nodes.
type NodeList struct {
	Nodes []Node `json:"nodes"`
}

// Site is a site with its live power and capacity.
type Site struct {
	ID              string   `json:"id"`
	Name            string   `json:"name,omitempty"`
	Country         string   `json:"country,omitempty"`
	Jurisdictions   []string `json:"jurisdictions"`
	PowerEnvelopeKW float64  `json:"power_envelope_kw"`
	PUE             float64  `json:"pue"`
	// ITPowerKW is the GPUs' measured power plus the nodes' base power.
	ITPowerKW float64 `json:"it_power_kw"`
	Nodes     int     `json:"nodes"`
	GPUs      int     `json:"gpus"`
	GPUsUsed  int     `json:"gpus_used"`
	// PriceEURMWh and CarbonGkWh are the grid's current hour, when the
	// server has a grid series for the site's zone.
	PriceEURMWh *float64 `json:"price_eur_mwh,omitempty"`
	CarbonGkWh  *float64 `json:"carbon_g_kwh,omitempty"`
}

// SiteList is GET /v1/sites.
type SiteList struct {
	Sites []Site `json:"sites"`
}

// Tenant is a tenant with its quota and what it holds now.
type Tenant struct {
	Name          string         `json:"name"`
	Cohort        string         `json:"cohort,omitempty"`
	Jurisdictions []string       `json:"jurisdictions,omitempty"`
	Quota         map[string]int `json:"quota,omitempty"`     // nominal GPUs by model
	GPUsUsed      map[string]int `json:"gpus_used,omitempty"` // by model
	// GPUsBorrowed, by model, is what of GPUsUsed lies beyond the
	// tenant's nominal quota (0 for a model it has none of): borrowed
	// from its cohort, what reclaim may take back. Absent when it
	// borrows nothing, and with the policy's quotas off.
	GPUsBorrowed map[string]int `json:"gpus_borrowed,omitempty"`
	Pending      int            `json:"pending"`
	Running      int            `json:"running"`
	Usage        Usage          `json:"usage"`
}

// TenantList is GET /v1/tenants.
type TenantList struct {
	Tenants []Tenant `json:"tenants"`
}

// UsageList is GET /v1/usage: consumption per tenant of every job that
// ran (finished or not), and the total.
type UsageList struct {
	Tenants []TenantUsage `json:"tenants"`
	Total   Usage         `json:"total"`
}

// TenantUsage is one tenant's line of UsageList.
type TenantUsage struct {
	Tenant string `json:"tenant"`
	Jobs   int    `json:"jobs"`
	Usage
}

// Plan is the plan of the last scheduling pass, as committed.
type Plan struct {
	Pass        time.Time     `json:"pass"`
	DurationMS  float64       `json:"duration_ms"`
	Starts      []PlanStart   `json:"starts"`
	Preemptions []PlanPreempt `json:"preemptions"`
	Deferrals   []PlanDefer   `json:"deferrals"`
	Pending     []PlanPending `json:"pending"`
	// Recaps are the running jobs whose power caps the pass changed:
	// raised into power it left free, or lowered to give lent power back
	// for its starts (an older server's plan has none).
	Recaps []PlanRecap `json:"recaps"`
	// Dropped lists starts the commit refused because the state changed
	// during the pass (plan.Verify against the state at commit).
	Dropped []string `json:"dropped,omitempty"`
}

// PlanStart is a job the pass started.
type PlanStart struct {
	Job      string    `json:"job"`
	Replicas []Replica `json:"replicas"`
}

// PlanPreempt is a preemption the pass decided.
type PlanPreempt struct {
	Victim      string    `json:"victim"`
	Beneficiary string    `json:"beneficiary"`
	Reason      string    `json:"reason"`
	EvictAt     time.Time `json:"evict_at"`
	// Replicas, on a partial preemption, are the deployment's replicas
	// it takes (absent: the whole job).
	Replicas []Replica `json:"replicas,omitempty"`
}

// PlanDefer is a deferral the pass decided.
type PlanDefer struct {
	Job    string    `json:"job"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// PlanPending is a job the pass left pending, with the core's reason.
type PlanPending struct {
	Job      string     `json:"job"`
	Code     string     `json:"code"`
	Message  string     `json:"message"`
	EstStart *time.Time `json:"est_start,omitempty"`
}

// PlanRecap is a running job whose power cap the pass changed: every
// replica runs at PowerCapW from now on (0: uncapped, its GPUs' own
// limit). Raised, the replicas run on lent power; lowered, they give it
// back, never below the cap each started with (Replica.StartPowerCapW).
type PlanRecap struct {
	Job       string `json:"job"`
	PowerCapW int    `json:"power_cap_w"`
	// PowerW is the site IT power the recap adds (below 0: frees), as
	// the core estimated it.
	PowerW float64 `json:"power_w"`
}

// AuditEntries is GET /v1/audit/entries: the entries of one tenant (or
// job) with their inclusion proofs in the tree the checkpoint signs, so
// the tenant checks them without seeing anyone else's entries.
type AuditEntries struct {
	// Checkpoint is the signed note of the tree the proofs are for.
	Checkpoint string       `json:"checkpoint"`
	Entries    []AuditEntry `json:"entries"`
	// Next, when more entries follow, is the seq to ask for the next page
	// after (after=NEXT, with size= the checkpoint's tree size, so that
	// every page is proven in the same tree).
	Next *int64 `json:"next,omitempty"`
}

// AuditEntry is one entry in canonical form with its proof: the hashes
// of tlog.RecordProof, base64.
type AuditEntry struct {
	Entry json.RawMessage `json:"entry"`
	Proof []string        `json:"proof"`
}

// AuditConsistency is GET /v1/audit/consistency: the proof that the tree
// of size Old (which a checkpoint the caller kept signs) is a prefix of
// the tree the checkpoint signs, so that the caller checks that the log
// only grew since, with hashes only (audit.VerifyConsistency).
type AuditConsistency struct {
	// Checkpoint is the signed note of the newer tree.
	Checkpoint string `json:"checkpoint"`
	// Old is the size of the older tree.
	Old int64 `json:"old"`
	// Proof is the hashes of tlog.TreeProof, base64.
	Proof []string `json:"proof"`
}

// ReenrollRequest is the optional body of POST /v1/nodes/{name}/reenroll.
type ReenrollRequest struct {
	// TTLSeconds is how long the allowance lasts: 1 to 7 days' worth of
	// seconds; 0 or absent is an hour.
	TTLSeconds int64 `json:"ttl_seconds,omitempty"`
}

// Reenroll is the answer to POST /v1/nodes/{name}/reenroll: node may
// enroll once more with a join token of site until Expires.
type Reenroll struct {
	Node    string    `json:"node"`
	Site    string    `json:"site"`
	Expires time.Time `json:"expires"`
}
