// Package fleet is a fake agent fleet: many virtual nodes in one process
// that talk to a live control plane exactly as real node agents do, and
// whose tasks only pretend to run. It drives the server at the scale of a
// real site (a thousand nodes) from one machine (`carnot agent --fleet N
// --fake`).
//
// Each virtual node is a real agent (internal/agent's Agent: the same
// registration, heartbeats, long poll and reconciling, see its package
// doc) with a fake Runtime, whose tasks are timers, and fake GPUs. What
// the fleet adds:
//
//  1. Certificates, before anything runs (New): each node PREFIX-0000,
//     PREFIX-0001, … loads its key and certificate from DataDir/<node>/,
//     or enrolls with the join token (POST /v1/agent/enroll; the server
//     binds the name to the token's site) and saves them there, as
//     `carnot agent --data-dir DataDir/<node>` would. At most Parallel
//     enrollments run at once; the server's CA is saved in
//     DataDir/ca.crt. Given a join token, the fleet asks the server
//     first whether it still takes each certificate it loads, as the
//     single agent does, and enrolls again a node whose certificate is
//     revoked or was replaced; so does a node revoked while the fleet
//     runs (agent.Config.Reenroll). While the fleet runs, each node renews its
//     certificate with itself before it expires (pki.Renewer, as the
//     single agent does); its new connections present the new one,
//     and those made with the old one carry no more requests: the idle
//     ones are closed, the ones in use (a long poll, a heartbeat) once
//     their request is done (nodeClient).
//  2. At most Parallel first registrations at once, over mTLS with the
//     node's certificate, as FakeGPUs nodes with GPUs GPUs of one model
//     (UUIDs unique in the fleet). A node registers no address: it serves
//     no logs.
//  3. Heartbeat slots: the nodes' heartbeat times are spread evenly over
//     the interval (Config.NextBeat of the agent), so a thousand nodes
//     do not heartbeat in lockstep; a task's change is still reported
//     shortly after it happens.
//  4. Each node has its own HTTP transport (its connections carry its
//     certificate), of at most two connections: the long poll's and the
//     heartbeats' (the server speaks HTTP/1.1).
//  5. The fleet's figures (Stats), and the nodes' logs: what an agent
//     logs at Info of one node or task is Debug in a fleet.
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
// Signal "runtime-limit" (the agent stops it there). A fake task has no
// PID (0) and no logs. A task's power cap is set on its fake GPUs, whose
// telemetry follows it.
//
// When Run's context is done every node stops its running tasks, sends a
// last heartbeat (at most 2 s) and Run returns.
package fleet
