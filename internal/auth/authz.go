package auth

import (
	"errors"
	"fmt"
)

// Principal is who a request comes from, as its credential proves.
type Principal struct {
	// Subject names the credential: "token:NAME/ID", "node:NAME" or
	// "job:JOB/ATTEMPT". It is
	// the actor of the audit entries the request causes.
	Subject string
	Role    Role
	// Tenant limits a tenant-scoped principal to one tenant; "" is
	// facility-wide.
	Tenant string
	// Site is a join token's site, and a node's (from its certificate).
	Site string
	// Node is a node principal's node name.
	Node string
	// TokenID is the ID of a token principal's token ("" for a node).
	TokenID string
	// Job and Attempt are a job principal's: the job and the attempt of
	// it its job token stands for.
	Job     string
	Attempt int
}

// Sees reports whether p may see the things of tenant (a job, its logs,
// events, usage, audit entries). Things of no tenant ("") are the
// facility's: only facility-wide principals see them.
func (p Principal) Sees(tenant string) bool { return p.Tenant == "" || p.Tenant == tenant }

// Class is the kind of access an operation needs.
type Class int

// Classes of operation.
const (
	// Authenticated: any principal (health, readiness, the API
	// description, whoami).
	Authenticated Class = iota
	// TenantRead: reading jobs, logs, events, usage of a tenant.
	TenantRead
	// TenantWrite: submitting work for a tenant.
	TenantWrite
	// JobControl: cancelling a job or acknowledging its checkpoint.
	JobControl
	// ClusterRead: nodes, metrics, the scheduler's plan.
	ClusterRead
	// ClusterWrite: draining and undraining nodes.
	ClusterWrite
	// NodeFence: fencing and unfencing nodes, an operator-admin's word
	// that a node is off: it frees the power the node's lost replicas
	// kept reserved, so a wrong one can overdraw a site. Forgetting a
	// node, allowing a node name to enroll again and revoking a node's
	// certificates are of this class too: operator-admin only.
	NodeFence
	// AuditRead: checkpoints, entries with inclusion proofs and
	// consistency proofs.
	AuditRead
	// AuditExport: the whole log.
	AuditExport
	// TokenAdmin: creating, listing and revoking tokens.
	TokenAdmin
	// SecretRead: listing a tenant's secret names (never values).
	SecretRead
	// SecretWrite: setting and deleting a tenant's secrets.
	SecretWrite
	// NodeAgent: a node agent's own routes.
	NodeAgent
	// Enroll: turning a join token into a node certificate, or a node's
	// certificate into a new one for the same node (a renewal).
	Enroll
)

// Ops maps each operation of api.Routes to its class. A test fails when
// a route has no entry.
var Ops = map[string]Class{
	"health": Authenticated, "ready": Authenticated, "openapi": Authenticated, "whoami": Authenticated,
	"metrics": ClusterRead, "lastPlan": ClusterRead, "listNodes": ClusterRead, "getNode": ClusterRead,
	"drainNode": ClusterWrite, "undrainNode": ClusterWrite,
	"fenceNode": NodeFence, "unfenceNode": NodeFence, "forgetNode": NodeFence, "reenrollNode": NodeFence, "revokeNode": NodeFence,

	"submitJob": TenantWrite, "submitDeployment": TenantWrite,
	"cancelJob": JobControl, "checkpointJob": JobControl,
	"listJobs": TenantRead, "getJob": TenantRead, "jobLogs": TenantRead, "jobEvents": TenantRead,
	"whyJob": TenantRead, "listDeployments": TenantRead, "getDeployment": TenantRead,
	"listSites": TenantRead, "listTenants": TenantRead, "usage": TenantRead,
	"listEvents": TenantRead, "watch": TenantRead,

	"auditCheckpoint": AuditRead, "auditEntries": AuditRead, "auditConsistency": AuditRead,
	"auditExport": AuditExport,

	"createToken": TokenAdmin, "listTokens": TokenAdmin, "revokeToken": TokenAdmin,
	"listSecrets": SecretRead, "putSecret": SecretWrite, "deleteSecret": SecretWrite,

	"agentRegister": NodeAgent, "agentHeartbeat": NodeAgent, "agentAssignments": NodeAgent,
	"agentEnroll": Enroll,
}

// AdminOnly reports whether op is served only on the operator listener:
// the facility's own operations and the node agents' routes.
func AdminOnly(op string) bool {
	switch Ops[op] {
	case ClusterRead, ClusterWrite, NodeFence, NodeAgent, Enroll:
		return true
	}
	return false
}

// ErrDenied is wrapped by every refusal of Authorize.
var ErrDenied = errors.New("permission denied")

// ErrNotVisible is wrapped by a refusal because the thing belongs to a
// tenant the principal does not see: the server answers as if it did not
// exist.
var ErrNotVisible = errors.New("not visible")

// short cuts a name a request gave to 40 characters, for a refusal that
// quotes it: a request may name anything, of any length.
func short(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// notVisible is a refusal for another tenant's things: ErrDenied and
// ErrNotVisible, in words that say what was tried.
type notVisible struct{ msg string }

func (e notVisible) Error() string { return e.msg }

func (notVisible) Is(target error) bool { return target == ErrDenied || target == ErrNotVisible }

// allowed lists, per class, the roles that may use it (on the things of
// tenants they see).
var allowed = map[Class][]Role{
	TenantRead:   {OperatorAdmin, Operator, TenantAdmin, Member, Viewer},
	TenantWrite:  {OperatorAdmin, TenantAdmin, Member},
	JobControl:   {OperatorAdmin, Operator, TenantAdmin, Member},
	ClusterRead:  {OperatorAdmin, Operator, Viewer},
	ClusterWrite: {OperatorAdmin, Operator},
	NodeFence:    {OperatorAdmin},
	AuditRead:    {OperatorAdmin, Auditor, TenantAdmin, Member, Viewer},
	AuditExport:  {OperatorAdmin, Auditor},
	TokenAdmin:   {OperatorAdmin, TenantAdmin},
	SecretRead:   {OperatorAdmin, TenantAdmin, Member},
	SecretWrite:  {OperatorAdmin, TenantAdmin},
	NodeAgent:    {Node},
	Enroll:       {Join, Node},
}

// Authorize decides whether p may perform op on the things of tenant
// ("" for an operation on no one tenant's things, or on a list the
// handler then filters with Sees). It is the only place that decides.
func Authorize(p Principal, op, tenant string) error {
	class, ok := Ops[op]
	if !ok {
		return fmt.Errorf("%w: operation %q has no access rule", ErrDenied, op)
	}
	if class == Authenticated {
		return nil
	}
	if p.Role == Job {
		// A job's token acts on its own job only: the handlers of one
		// job ask AuthorizeJob, which knows the job; anything else, or a
		// thing of a tenant without the job, is refused.
		if !jobOps[op] {
			return fmt.Errorf("%w: a job's token may not %s: it reads its own job and reports its checkpoints, nothing else", ErrDenied, Action(op))
		}
		if tenant != "" {
			return fmt.Errorf("%w: a job's token may %s of its own job only", ErrDenied, Action(op))
		}
		return nil
	}
	ok = false
	for _, r := range allowed[class] {
		ok = ok || r == p.Role
	}
	if !ok && class == NodeFence {
		return fmt.Errorf("%w: role %s may not %s: only an operator-admin fences, unfences, forgets, re-enrolls or revokes a node", ErrDenied, p.Role, Action(op))
	}
	if !ok {
		return fmt.Errorf("%w: role %s may not %s", ErrDenied, p.Role, Action(op))
	}
	switch class {
	case ClusterRead:
		if p.Tenant != "" { // a tenant's viewer
			return fmt.Errorf("%w: a viewer of tenant %s may not %s", ErrDenied, p.Tenant, Action(op))
		}
	case AuditExport:
		if p.Tenant != "" {
			return fmt.Errorf("%w: an auditor of tenant %s may not %s: it reads its tenant's entries (carnot audit export --tenant %s)", ErrDenied, p.Tenant, Action(op), p.Tenant)
		}
	case NodeAgent, Enroll:
		return nil // the handler checks the node and site against the path and body
	}
	if tenant != "" && !p.Sees(tenant) {
		return notVisible{fmt.Sprintf("%v: a token of tenant %s may not %s of tenant %s", ErrDenied, p.Tenant, Action(op), short(tenant))}
	}
	return nil
}

// jobOps are the operations a job principal may perform, on its own job
// only (AuthorizeJob).
var jobOps = map[string]bool{"getJob": true, "jobEvents": true, "whyJob": true, "checkpointJob": true}

// AuthorizeJob is Authorize for an operation on one job, of tenant: a
// job principal may perform it on its own job only, and is refused
// another as things of another tenant are (ErrNotVisible: the server
// answers as if it did not exist); any other principal as Authorize
// says.
func AuthorizeJob(p Principal, op, tenant, job string) error {
	if p.Role != Job {
		return Authorize(p, op, tenant)
	}
	if err := Authorize(p, op, ""); err != nil {
		return err
	}
	if job != p.Job || tenant != p.Tenant {
		return notVisible{fmt.Sprintf("%v: the token of job %s may not %s: %s is another job, and a job's token acts on its own job only", ErrDenied, short(p.Job), Action(op), short(job))}
	}
	return nil
}

// CanGrant reports whether p may create a token of role r for tenant:
// an operator-admin any, a tenant-admin only its own tenant's roles.
func CanGrant(p Principal, r Role, tenant string) error {
	switch {
	case p.Role == OperatorAdmin:
		return nil
	case p.Role == TenantAdmin && r.MayHaveTenant() && tenant == p.Tenant:
		return nil
	case p.Role == TenantAdmin:
		return fmt.Errorf("%w: a tenant-admin grants roles of its own tenant %s only (tenant-admin, member, viewer, auditor)", ErrDenied, p.Tenant)
	}
	return fmt.Errorf("%w: role %s may not create tokens", ErrDenied, p.Role)
}

// actions says each operation of Ops in a user's words, for refusals: "role
// viewer may not list API and join tokens", not "may not listTokens".
var actions = map[string]string{
	"health": "check the server's health", "ready": "check the server's readiness",
	"openapi": "read the API description", "whoami": "ask who its credentials are",
	"metrics": "read the metrics", "lastPlan": "read the scheduler's plan",
	"listNodes": "list nodes", "getNode": "read a node",
	"drainNode": "drain a node", "undrainNode": "undrain a node",
	"fenceNode": "fence a node", "unfenceNode": "unfence a node",
	"forgetNode": "forget a node", "reenrollNode": "let a node enroll again", "revokeNode": "revoke a node's certificates",

	"submitJob": "submit jobs", "submitDeployment": "submit deployments",
	"cancelJob": "cancel jobs", "checkpointJob": "report or acknowledge a job's checkpoint",
	"listJobs": "list jobs", "getJob": "read a job", "jobLogs": "read a job's logs",
	"jobEvents": "read a job's events", "whyJob": "ask why a job waits",
	"listDeployments": "list deployments", "getDeployment": "read a deployment",
	"listSites": "list sites", "listTenants": "list tenants", "usage": "read usage",
	"listEvents": "list events", "watch": "watch events",

	"auditCheckpoint": "read the audit log's checkpoint", "auditEntries": "read audit entries",
	"auditConsistency": "read the audit log's consistency proofs",
	"auditExport":      "export the whole audit log",

	"createToken": "create API or join tokens", "listTokens": "list API and join tokens",
	"revokeToken": "revoke API or join tokens",
	"listSecrets": "list secrets", "putSecret": "set secrets", "deleteSecret": "delete secrets",

	"agentRegister": "register a node (a node agent's route)", "agentHeartbeat": "send a node's heartbeats (a node agent's route)",
	"agentAssignments": "read a node's assignments (a node agent's route)",
	"agentEnroll":      "enroll a node",
}

// Action says what op does in a user's words ("list API and join
// tokens"): what a refusal says the caller may not do. An operation
// without words (a bug: a test checks every route has them) is named.
func Action(op string) string {
	if a, ok := actions[op]; ok {
		return a
	}
	return op
}
