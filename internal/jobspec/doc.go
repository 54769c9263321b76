// Package jobspec reads and writes job files: the jobs and deployments
// tenants submit, in YAML, JSON or JSON Lines. docs/jobspec.md is the
// schema; this comment is the map of the code.
//
// Load(name, data, fac) decodes in three steps, one file each:
//
//   - load.go and jsonl.go turn the bytes into a yamlin.Node tree that
//     remembers the line of every value. YAML (and JSON, which is YAML)
//     goes through internal/yamlin's Reader, one document at a time;
//     JSON Lines go through a small scanner so that a million-job file
//     loads in seconds. For JSONL the line is the physical line.
//   - decode.go maps the tree to model.Job field by field: unknown or
//     repeated fields, wrong types and out-of-range numbers are errors
//     naming the field path, e.g. "jobs[3].replicas". runtime.go holds
//     the fields only the live control plane reads: env, workdir,
//     restart and max_retries.
//   - validate.go assigns IDs and defaults, then checks each job on its
//     own (window, kinds) and, when fac is non-nil, against the facility
//     (tenant, class, GPU model, sizes, jurisdictions), resolving
//     Preemptible from the class when the job does not say. The checks
//     of a gang's size count as the scheduler places one: room.go the
//     replicas each model's nodes hold per site, allowed.go the sites
//     the job may use, onemodel.go a gang no one model holds (a
//     deployment's min_replicas), onesite.go one that must stay in a
//     site and fits none; core_test.go runs the core on both sides of
//     their boundaries. sizes.go gives their rule to the workload
//     generator (Sizes), which sizes its gangs by it.
//
// Every problem is collected; Load returns no jobs and an ErrorList,
// sorted by line, whose entries read "file:line: path: message" and are
// reachable with errors.As. Load never panics.
//
// Write(w, jobs) emits JSON Lines that Load reads back to identical jobs.
// Reload reads what an earlier version wrote, keeping what that version
// accepted and Load now refuses (a set naming an item twice).
package jobspec
