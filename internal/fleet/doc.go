// Package fleet is a fake agent fleet: many virtual nodes in one process
// that talk to a live control plane exactly as real node agents do, and
// whose tasks only pretend to run. It drives the server at the scale of a
// real site (a thousand nodes) from one machine (`carnot agent --fleet N
// --fake`).
//
// The loop of each virtual node is the real agent's (internal/agent):
//
//  1. Certificates, before anything runs (New): each node PREFIX-0000,
//     PREFIX-0001, … loads its key and certificate from DataDir/<node>/,
//     or enrolls with the join token (POST /v1/agent/enroll; the server
//     binds the name to the token's site) and saves them there, as
//     `carnot agent --data-dir DataDir/<node>` would. At most Parallel
//     enrollments run at once; the server's CA is saved in
//     DataDir/ca.crt.
//  2. Register (at most Parallel at once), over mTLS with the node's
//     certificate, as FakeGPUs nodes with GPUs GPUs of one model.
//  3. Two goroutines per node: one long-polls Assignments and reconciles
//     every answer; the other sends a Heartbeat (every task's status and
//     the GPUs' fake telemetry) at the server's interval and shortly
//     after a task changes state. The nodes' heartbeat times are spread
//     evenly over the interval. A 404 makes the node register again.
//
// Each node has its own HTTP transport (its connections carry its
// certificate), of at most two connections: the long poll's and the
// heartbeats' (the server speaks HTTP/1.1). A long poll is cut short
// only when a heartbeat saw a version newer than the one it waits past
// and its answer is still missing 2 s later, so connections are not
// closed in the race where a heartbeat's reply overtakes the poll's.
// Nothing is executed: a task is a timer.
//
// Reconciling is the real agent's: a listed task never started is
// started; one marked Stop, or no longer listed (an orphan), is stopped;
// a task past its Deadline is stopped with Signal "runtime-limit". A
// (job, replica, attempt) is never started twice. An ended task is
// reported until a heartbeat carrying its end succeeded and the
// assignments no longer list it.
//
// A fake task runs for a duration decided from its spec alone (decide,
// in run.go), then exits with exit code 0:
//
//   - FAKE_DURATION in the job's env ("90s", "200ms", "1.5" seconds,
//     "2d", "infinity"), else
//   - a command that is `sleep N…`, or `sh -c 'sleep N'`: N seconds (GNU
//     sleep's suffixes s, m, h, d; "infinity"), else
//   - the job's runtime limit: the task runs until its deadline and exits
//     normally, as the digital twin takes the runtime limit as a job's
//     true run time, else
//   - Config.DefaultDuration; 0 runs until stopped.
//
// FAKE_EXIT=N (0–255) in the job's env makes the task exit N instead.
// (The control plane reserves CARNOT_*, hence the plain names; a real
// agent passes them on and a real program ignores them.) A FAKE_DURATION
// or FAKE_EXIT that does not parse makes the task fail to start (exit
// code 126, the error in its status). A stopped task (a cancel, a
// preemption, an orphan, the fleet's shutdown) ends at once, as a process
// killed by SIGTERM: exit code 143, Signal "terminated"; its grace is
// not waited. A run cut short by the deadline ends with exit code 143 and
// Signal "runtime-limit". A fake task has no PID (0) and no logs.
//
// When Run's context is done every node stops its running tasks, sends a
// last heartbeat (at most 2 s) and Run returns.
package fleet
