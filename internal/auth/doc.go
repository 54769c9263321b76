// Package auth is who may do what through Carnot's API: credentials
// (API tokens, join tokens), the principals they stand for, and the one
// authorization function every request goes through.
//
// A token is "carnot_" + a public ID + "_" + a 256-bit random secret. It
// is shown once, when it is created; the server keeps only the ID and an
// HMAC-SHA256 of the secret under the server's token key, so a copy of the
// database (or a backup) holds nothing that authenticates. Tokens carry a
// role, a tenant for tenant-scoped roles, an optional expiry, and can be
// revoked. A token minted with a tenant-admin's token names it as its
// Parent and holds only through it; each records the ID of the token key
// it was made under (Hasher.KeyID), so that a server with another key
// tells it apart.
//
// A job token (jobtoken.go) is a task's own credential, which the server
// hands every task of a job's attempt: an HMAC under the token key of the
// job and the attempt, so nothing is stored for it. The server
// authenticates it only while that attempt is the job's current one and
// runs.
//
// Roles:
//
//	operator-admin  everything, every tenant; the only role that mints
//	                operator tokens and join tokens, and that fences
//	                nodes (declares them off)
//	operator        runs the facility: nodes, drain, metrics, the plan;
//	                reads every tenant's jobs and cancels them
//	tenant-admin    a tenant's jobs, tokens and secrets
//	member          submits and controls its tenant's jobs
//	viewer          reads its tenant's jobs (facility-wide without a tenant)
//	auditor         reads the audit log (its tenant's entries, or all)
//	join            a join token: enrolls one node in its site, nothing else
//	node            a node agent, from its certificate: its own routes only
//	job             a task, from its job token: reads its own job (getJob,
//	                jobEvents, whyJob) and reports its checkpoints
//	                (checkpointJob), while its attempt runs; nothing else
//
// Authorize decides every request from the operation's Class (Ops maps
// each operation of api.Routes to one) and the tenant of what it touches;
// AuthorizeJob, for an operation on one job, also from the job (a job
// principal's own only).
// Operations whose class is operator-only are served only on the
// operator listener (AdminOnly).
package auth
