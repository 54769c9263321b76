// Package agent is Carnot's node agent: it runs the tasks the server
// assigns to one node as real processes and reports on them.
//
// The loop:
//
//  1. Register the node (CPUs, memory, GPUs with their NVML index and
//     UUID, the address of the agent's log server), retrying with
//     backoff until the server answers. The server names a task's GPUs
//     by those UUIDs in its CUDA_VISIBLE_DEVICES.
//  2. Two goroutines then run side by side. One long-polls Assignments
//     (after the last version seen, waiting up to 30 s) and reconciles
//     every answer with the tasks it runs. The other sends a Heartbeat
//     (every task's status and a GPU sample) at the server's interval
//     (taken within 10 ms to 24 h),
//     and a few milliseconds after any task changes state.
//  3. When the server answers 404 for the node (it restarted and forgot
//     it), the agent registers again, listing the tasks it still runs
//     and the ends it has not reported yet.
//     Other failures are retried; tasks keep running meanwhile (until
//     the server's stop-after-disconnect, when it set one). But for a
//     refusal of the node's certificate as revoked (revoked.go): the
//     agent stops calling the server, and enrolls again through
//     Config.Reenroll, or ends once its tasks have.
//
// Reconciling: a listed task the agent has never started is started; a
// listed task marked Stop gets SIGTERM, and SIGKILL of its whole process
// group GraceSeconds later; a task past its Deadline (a time of the wall
// clock, read again at least every minute: a clock stepped meanwhile moves
// the stop) is stopped the same way and reported with Signal
// "runtime-limit"; a running task that is not
// listed at all is an orphan and is stopped with zero grace. A (job,
// replica, attempt) is never started twice on a node: not by one agent
// process, nor by the next one after a crash, which reports "lost" every
// task the dead one recorded as started (started.go). A task that ended
// is reported in every heartbeat until a heartbeat carrying its end
// succeeded and the assignments no longer list it, so an exit is never
// lost.
//
// How a task is executed is a Runtime's (runtime.go): Start gives a
// Process that takes signals and tells, by Wait, how it ended. By default
// each task is a process in its own process group, with the agent's
// environment without its credentials, plus Task.Env (Task.Env wins) and
// what the task needs to call the server about its own job: its job token
// (Task.Token) as CARNOT_TOKEN, and Config.TaskServer and TaskCA as
// CARNOT_ADDR and CARNOT_CA (taskenv.go), its output piped to
// DataDir/logs/<job>/<attempt>/<replica>.stdout and .stderr and rotated
// there at Retention.LogMaxBytes (tasklog.go), which the agent's HTTP log
// server serves at api.AgentLogsPath. Every Retention.Interval the
// agent deletes the logs and default work directories of finished tasks
// beyond its Retention limits (retention.go), sparing, but for the disk
// limit, those of the jobs the assignments name unfinished. internal/fleet
// runs many agents in one process with a fake Runtime whose tasks are
// timers: one implementation of the protocol, the work faked, as a
// kubelet over a fake container runtime. An agent with another Runtime
// serves no logs and registers no address.
//
// A long poll is cut short (the heartbeat's "kick") only when a heartbeat
// saw a version other than the one the poll waits past (newer, or of a
// server rebuilt from its store, whose versions start afresh) and the
// poll's answer is still missing 2 s later: the server answers the poll itself
// as soon as the assignments change, and cancelling an HTTP/1.1 request
// closes its connection, so the usual race where a heartbeat's reply
// overtakes the poll's answer costs no reconnect.
//
// Conventions:
//
//   - A command that cannot be started is reported failed with Error set,
//     like a shell would: ExitCode 127 when the command was not found, 126
//     when it was found but could not be run (permissions, bad work dir).
//     The error is also written to the task's stderr log.
//   - A process ended by a signal has Signal set to the signal's name
//     ("killed", "terminated") and ExitCode 128 + the signal's number.
//   - When a task's main process ends, what is left of its process group
//     (background children) is killed with SIGKILL at once, and the end is
//     reported once no member of the group remains (ended: reaped by
//     their parent, which is the agent when it is PID 1 of a container or
//     a child subreaper, or zombies a parent never reaps, which hold
//     nothing; at most 5 s later): an ended task holds nothing on its
//     GPUs. A zombie whose other threads run on is not ended (zombies.go). Processes that outlive SIGKILL that long (uninterruptible
//     sleep) keep its GPUs down while they are there (health.go). Such an agent also reaps, at the heartbeat after a
//     SIGCHLD, the orphans it inherited that ended while their task runs
//     on (orphans.go).
//     EndedAt is when the main process ended. The main process stays a
//     zombie until its group is cleared, holding the group's ID, and the
//     group is never signalled once it is reaped: a PID reused by then is
//     never taken for the task's (process.go).
//   - Processes that left the task's group (setsid, setpgid: torchrun's
//     workers) are found by CARNOT_TASK_MARK, a random value in the
//     environment of all of the task's processes (marks.go): SIGTERM
//     goes to the group only (the main process may pass it on), SIGKILL
//     and the end of the main process also kill them. A process whose
//     mark cannot be read yet is looked at again, 2 s at most, and named
//     in a warning should it stay so (undecided.go). A process that
//     cleared its environment, runs as another user, or made itself
//     non-dumpable (its environment then closed to an agent not run as
//     root) is not followed by its mark (docs/security.md). Where the
//     agent can make cgroups, the task's cgroup holds every one of them,
//     and marks are not read at all (cgroup.go).
//   - An agent killed (SIGKILL, a crash) leaves its tasks behind. Before
//     a task's process starts, the agent records the task in
//     DataDir/started.json (synced to disk) and its mark and GPUs in
//     DataDir/groups.json. The next agent on the data directory kills
//     every process a recorded group or mark finds (leftovers.go);
//     processes of a task that outlive that SIGKILL keep its GPUs down
//     while they are there, as an ended task's do (leftheld.go; a
//     groups.json of an older agent names no GPUs: they are only
//     logged). It then reports each recorded task lost (Error says why)
//     until the assignments no longer list it, and never starts it: the
//     server ends its attempt whole, as for a replica lost with its node.
//   - A task's power cap is set on its GPUs before it starts and the
//     limits the GPUs had when the agent started are restored when it
//     ends. A cap the server changes while the task runs (a recap:
//     raised, lowered back, lifted) is set likewise. A cap the GPUs
//     refuse is reported in Error; the task runs. A GPU two tasks hold
//     (a task stopping beside the live one that replaced it) has the
//     live task's limit, never the stopping one's (limits.go).
//     While a GPU is capped, its limit before the cap is recorded in
//     DataDir/caps.json: an agent started after a crash of the previous
//     one restores it (caps.go), once it killed the previous one's tasks. A GPU that refuses its limit back when
//     the cap ends stays recorded, and the agent tries again at every
//     heartbeat until it takes it. A caps.json that cannot be written
//     (a full disk) is written again at every heartbeat until it is.
//   - A GPU NVML cannot read (lost, in need of a reset) is down: the
//     agent runs on the others and lists it in its registration and
//     heartbeats, read again at each, until it answers (health.go). A
//     task placed on it before the server knew is not started (126).
//     GPUs keep their index when NVML numbers them anew (one gone from
//     its count moves those after it down): they are told apart by
//     UUID, recorded by index in DataDir/gpus.json for the next agent
//     (gpuids.go); a GPU gone is down.
//   - An agent stuck in a call that holds its lock (NVML, a disk that
//     hangs) sends no heartbeat, and the server counts its node silent;
//     its stop-after-disconnect and its shutdown still signal the tasks'
//     processes, from a live set kept outside that lock (frozen.go), and
//     a stop's SIGKILL at the end of its grace does not wait for the lock
//     either. A task whose start such a call held up (its power cap) is
//     not started once the agent is to stop: it is reported lost.
//   - On shutdown (Run's context done) every task is stopped like a Stop,
//     with its grace capped at Config.ShutdownGrace; Run waits for the
//     processes to end, sends a last heartbeat, then stops the log server.
//     The tasks it stopped so are reported lost, however they exited: the
//     job did not finish (a checkpoint saved on SIGTERM exits 0). Ends
//     no heartbeat carried (the server out of reach) are recorded in
//     DataDir/ended.json, and the next agent reports them as they were,
//     not as a crash's (started.go).
//   - A stop (any: the server's, a runtime limit, a shutdown, a
//     disconnect) that begins after the task's main process ended by
//     itself, while the agent still clears its group or reads its
//     output, did not end it: the task keeps its own exit.
package agent
