package api

// Route is one operation of the API: a method and a path pattern in
// net/http's ServeMux syntax ({name} for a path segment).
type Route struct {
	Method string
	Path   string
	// Op is the operation's name, its operationId in openapi.json.
	Op string
}

// Routes is every operation the server serves. The server registers
// exactly these (a test checks it) and openapi.json documents exactly
// these (another test checks it).
var Routes = []Route{
	{"GET", "/healthz", "health"},
	{"GET", "/readyz", "ready"},
	{"GET", "/metrics", "metrics"},
	{"GET", "/v1/openapi.json", "openapi"},
	{"GET", "/v1/whoami", "whoami"},

	{"POST", "/v1/jobs", "submitJob"},
	{"GET", "/v1/jobs", "listJobs"},
	{"GET", "/v1/jobs/{id}", "getJob"},
	{"POST", "/v1/jobs/{id}/cancel", "cancelJob"},
	{"GET", "/v1/jobs/{id}/logs", "jobLogs"},
	{"GET", "/v1/jobs/{id}/events", "jobEvents"},
	{"GET", "/v1/jobs/{id}/why", "whyJob"},
	{"POST", "/v1/jobs/{id}/checkpoint", "checkpointJob"},

	{"POST", "/v1/deployments", "submitDeployment"},
	{"GET", "/v1/deployments", "listDeployments"},
	{"GET", "/v1/deployments/{id}", "getDeployment"},

	{"GET", "/v1/nodes", "listNodes"},
	{"GET", "/v1/nodes/{name}", "getNode"},
	{"POST", "/v1/nodes/{name}/drain", "drainNode"},
	{"POST", "/v1/nodes/{name}/undrain", "undrainNode"},
	{"POST", "/v1/nodes/{name}/fence", "fenceNode"},
	{"POST", "/v1/nodes/{name}/unfence", "unfenceNode"},
	{"DELETE", "/v1/nodes/{name}", "forgetNode"},
	{"POST", "/v1/nodes/{name}/reenroll", "reenrollNode"},
	{"POST", "/v1/nodes/{name}/revoke", "revokeNode"},

	{"GET", "/v1/sites", "listSites"},
	{"GET", "/v1/tenants", "listTenants"},
	{"GET", "/v1/usage", "usage"},
	{"GET", "/v1/plan", "lastPlan"},
	{"GET", "/v1/events", "listEvents"},
	{"GET", "/v1/watch", "watch"},

	{"GET", "/v1/audit/checkpoint", "auditCheckpoint"},
	{"GET", "/v1/audit/export", "auditExport"},
	{"GET", "/v1/audit/entries", "auditEntries"},
	{"GET", "/v1/audit/consistency", "auditConsistency"},

	{"POST", "/v1/tokens", "createToken"},
	{"GET", "/v1/tokens", "listTokens"},
	{"POST", "/v1/tokens/{id}/revoke", "revokeToken"},

	{"GET", "/v1/secrets", "listSecrets"},
	{"PUT", "/v1/secrets/{name}", "putSecret"},
	{"DELETE", "/v1/secrets/{name}", "deleteSecret"},

	{"POST", "/v1/agent/enroll", "agentEnroll"},
	{"POST", "/v1/agent/register", "agentRegister"},
	{"POST", "/v1/agent/nodes/{name}/heartbeat", "agentHeartbeat"},
	{"GET", "/v1/agent/nodes/{name}/assignments", "agentAssignments"},
}

// Agent log server: the agent serves its tasks' output at this path on its
// own address; the server's /v1/jobs/{id}/logs reads from it. Query:
// job, replica, attempt, stream (stdout|stderr), follow (true|false),
// offset (bytes to skip). Where rotation dropped bytes a follower had
// not read yet, the answer has a line of its own, "[carnot: N bytes of
// STREAM were dropped by log rotation; the output goes on at byte M]".
const AgentLogsPath = "/logs"

// Header names.
const (
	// IdempotencyKeyHeader makes a submission safe to retry: the same key
	// returns the job the first submission created.
	IdempotencyKeyHeader = "Idempotency-Key"
	// StandbyHeader marks the 503 of a replica that is not the leader and
	// cannot serve the request (a node agent's): the client tries the
	// next server address. Its value is the leader's address, if known.
	StandbyHeader = "Carnot-Standby"
	// ForwardedHeader marks a request a standby forwarded to the leader;
	// its value is the standby's lease holder name. A replica given such
	// a request is the leader, or answers as a standby: a standby never
	// forwards it again, so that a lease naming an address that leads to
	// a standby (127.0.0.1 from another machine) makes no loop.
	ForwardedHeader = "Carnot-Forwarded-By"
	// LogDroppedHeader, on a log's answer (the agent's and the server's),
	// is how many bytes of the beginning of the replica's output its node
	// no longer keeps (the agent's --task-log-max-mib): the body starts
	// at that offset at the earliest. Absent when nothing was dropped.
	LogDroppedHeader = "Carnot-Log-Dropped"
)
