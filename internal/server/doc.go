// Package server is the live control plane: the HTTP API under /v1, the
// node agents' side of the protocol and the scheduler loop. It is the
// second thin driver around the scheduling core (the digital twin,
// internal/sim, is the first).
//
// # The loop
//
// Everything that can change what should run — a submission, a cancel, a
// replica's exit, a node registering, draining, being fenced or going
// silent, a timer — kicks the loop. One pass:
//
//  1. under the state lock, take a snapshot (facility, node states,
//     running allocations, pending jobs, usage, grid);
//  2. outside the lock, call sched.Schedule(snapshot, now);
//  3. under the lock again, drop from the plan what the world made moot
//     meanwhile (a job cancelled during the pass, a recap of a job that
//     no longer runs or that the plan preempts), check the plan with
//     plan.Verify against the state as it is now, and drop the starts,
//     preemptions and recaps that no longer hold;
//  4. commit what holds in one store transaction (durable), then apply
//     it to memory and wake the agents of the nodes it touches.
//
// A pass runs while jobs wait, and also, with an empty queue, after a
// job's end while a running job is power-capped and the policy lends
// power (model.Policy.Lends): the power that end frees then reaches
// the jobs started capped (recap.go). That power is lent: a later pass
// may lower the cap again, never below the cap the job started with, so
// that its starts get the power back. A recap changes the caps of the
// job's replicas in its document, and the agents set the new limit on
// the GPUs.
//
// No scheduling decision is made anywhere else: the agent protocol only
// reports what happened (a replica started, exited), and the state
// machine of a job (pending → running → succeeded/failed, preempting →
// pending, cancelling → cancelled, restarts) follows from reports and
// plans.
//
// # Agents
//
// An agent registers its node, long-polls its assignments (the complete
// list of tasks the node should run: starting what it does not run,
// stopping what is marked Stop, killing what is not listed), and
// heartbeats its tasks' states and its GPUs' telemetry. A node silent for
// the heartbeat timeout becomes not-ready; its replicas are lost and their
// jobs handled whole, by their restart policy. A node silent while it ran
// replicas may still run them: the core counts it at nameplate until its
// agent reports them stopped, or until an operator fences it (fence.go).
//
// # Watchers
//
// Every event reaches GET /v1/watch once durable, in seq order with none
// left out, though submissions commit without the state lock (watch.go):
// each store call that records events is tracked from before the call,
// and an event waits until no call in flight can take a smaller seq. A
// watcher that reconnects with after= gets the stored events first.
//
// # Store
//
// The server keeps the live state in memory and every change in the
// store (store.Store): a submission is acknowledged only once durable; on
// start the server reloads the jobs that were not final.
package server
