package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
)

// Server is the control plane as the agent uses it. internal/client's
// HTTP client implements it. A call about a node the server does not know
// must fail with an error that errors.As finds as an *api.Problem with
// Status 404: the agent then registers again.
type Server interface {
	Register(ctx context.Context, r api.Register) (api.Registered, error)
	Heartbeat(ctx context.Context, node string, hb api.Heartbeat) (api.HeartbeatReply, error)
	Assignments(ctx context.Context, node string, after int64, wait time.Duration) (api.Assignments, error)
}

// Config is an agent's configuration. Zero values take the defaults
// noted.
type Config struct {
	Name string // node name; required
	Site string
	// DataDir holds the tasks' logs (DataDir/logs) and their default work
	// directories (DataDir/work); required unless Runtime is set.
	DataDir string
	// Devices are the node's GPUs; nil for a node without GPUs. The agent
	// does not close them.
	Devices gpu.Devices
	// CPUs and MemoryGiB describe the node; 0 detects them from the
	// machine (runtime.NumCPU, /proc/meminfo).
	CPUs, MemoryGiB int
	// Listen is the address of the agent's log server; default
	// "127.0.0.1:0". A wildcard host is advertised as the machine's host
	// name. There is no log server when Runtime is set.
	Listen string
	// TLS, when set, makes the log server speak TLS with its
	// certificate (the node's: the server checks the node's identity);
	// it is then advertised as https://.
	TLS      *tls.Config
	FakeGPUs bool   // reported in Register
	Version  string // the agent's version, reported in Register
	Logger   *slog.Logger
	// Heartbeat is the heartbeat interval until the server sets one;
	// default 5 s.
	Heartbeat time.Duration
	// ShutdownGrace caps each task's grace when the agent shuts down;
	// default 10 s.
	ShutdownGrace time.Duration
	// Retention bounds the tasks' logs and work directories in DataDir
	// (retention.go); without effect with another Runtime.
	Retention Retention

	// Runtime executes the tasks; nil runs them as processes, their
	// output in DataDir/logs, served by the agent's log server. Another
	// Runtime's tasks have no logs: the agent then opens no listener and
	// registers no address.
	Runtime Runtime
	// NextBeat is when the heartbeat after the one sent at last is due;
	// nil: one interval later. (A fleet of virtual nodes spreads its
	// nodes' heartbeats over the interval with it.)
	NextBeat func(last time.Time, interval time.Duration) time.Time
	// Reenroll, when set, gives the node a new certificate once the
	// server refused the one it holds as revoked (revoked.go): it
	// enrolls with a join token, and the agent's calls present the new
	// certificate from then on. It fails until an operator-admin allowed
	// the node to enroll again; the agent calls it again meanwhile. nil:
	// Run ends with ErrRevoked once the node's tasks have ended.
	Reenroll func(ctx context.Context) error
	// TaskServer and TaskCA are what tasks are given to reach the
	// server's tenant API with their job token (api.Task.Token, given as
	// $CARNOT_TOKEN): its address, as $CARNOT_ADDR, and the file of the
	// CA to trust it with, as $CARNOT_CA, so that carnot checkpoint runs
	// in a task with no flags. "" leaves the variable as the agent's
	// environment has it.
	TaskServer, TaskCA string
	// Cgroups says whether each task runs in a cgroup v2 of its own
	// (cgroup.go): CgroupsAuto ("" too) where the agent can make them,
	// CgroupsOff, or CgroupsRequired (the agent does not start without
	// them). Without effect with another Runtime.
	Cgroups string
	// OnTaskChange, when set, is called with a task's status each time it
	// starts, ends, fails to start or is refused. It is called with the
	// agent's lock held: it must be quick and must not call the agent.
	OnTaskChange func(api.TaskStatus)
}

// Timing of the agent's calls.
const (
	defaultHeartbeat     = 5 * time.Second
	defaultShutdownGrace = 10 * time.Second
	pollWait             = 30 * time.Second // the long-poll's wait
	callTimeout          = 15 * time.Second // beyond the wait, for any call
	debounce             = 5 * time.Millisecond
	minPollGap           = time.Second           // between unchanged answers
	kickGrace            = 2 * time.Second       // a long poll still out this long after a heartbeat saw a newer version is cut short
	defaultDeadlineCheck = time.Minute           // a task's deadline is checked against the wall clock at least this often
	logIdleTimeout       = 2 * time.Minute       // the log server closes a keep-alive connection idle this long
	minHeartbeat         = 10 * time.Millisecond // the shortest heartbeat interval taken from the server
	defaultFrozenAfter   = time.Second           // a call holding the agent's lock this long is taken for stuck (lockSoon)
	defaultFailingRemind = 5 * time.Minute       // heartbeats failing this long are recalled at WARN, and as often
)

// Agent runs one node's tasks. Create it with New and start it with Run.
type Agent struct {
	cfg        Config
	srv        Server
	rt         Runtime
	log        *slog.Logger
	ln         net.Listener // the log server's; nil without one
	advertise  string       // http://host:port of the log server
	httpSrv    *http.Server
	mux        *http.ServeMux
	lock       *os.File    // the data directory's (lock.go); nil without the default runtime
	baseLimits map[int]int // each GPU's power limit when the agent started

	retryMin, retryMax time.Duration // backoff of failed calls
	// refusedMin and refusedMax bound the backoff of a registration
	// the server refused (session.go, refusal)
	refusedMin, refusedMax time.Duration
	logIdle                time.Duration           // the log server's keep-alive connections are closed after this idle
	diskUsed               func() (float64, error) // percent used of DataDir's file system
	// now is the wall clock that tasks' deadlines are read on, checked
	// at least every deadlineCheck (task.go); both are read under mu.
	now           func() time.Time
	deadlineCheck time.Duration
	// failingRemind is how often heartbeats that keep failing are
	// recalled at WARN (heartbeatLoop); read under mu
	failingRemind time.Duration
	// frozenAfter is how long a call holds the agent's lock before a
	// stop that waits for it says the agent is stuck (lockSoon)
	frozenAfter time.Duration

	// live holds the running tasks' processes, under liveMu, which no
	// slow call holds: the disconnect's stop reaches them while mu is
	// held by a call that hangs (frozen.go).
	liveMu sync.Mutex
	live   map[taskKey]*liveProc

	changed chan struct{} // a task changed state (capacity 1)
	kick    chan struct{} // a heartbeat saw newer assignments (capacity 1)
	// recert: the node's certificate was renewed (capacity 1); certGen
	// counts the renewals (recert.go)
	recert  chan struct{}
	certGen atomic.Uint64
	procs   sync.WaitGroup

	mu       sync.Mutex
	node     string // as the server named it
	interval time.Duration
	siteTags []string // the jurisdictions of the node's site, as the server last said (registration, heartbeat)
	// logsToken is the bearer token the log server requires, from the
	// server at registration; until then it serves no logs.
	logsToken string
	version   int64 // of the last assignments applied
	seen      int64 // a heartbeat's reply's version other than version; 0 once assignments are applied
	tasks     map[taskKey]*task
	started   map[taskKey]bool // ever started (or refused): never again; but for finished jobs' (applyLocked)
	listed    map[taskKey]bool // in the last assignments
	// unfinished holds the jobs (sanitized names) the last assignments
	// said are not finished; nil when they did not say (an older server).
	unfinished map[string]bool
	gpuUse     map[int]int // tasks holding each GPU
	// uncapDue holds the GPUs that refused their own limit back when
	// their cap ended (caps.go): recorded in caps.json until they take
	// it, which the agent tries again at every heartbeat.
	uncapDue map[int]bool
	// limitsSet counts the power limits the agent set (setLimitLocked):
	// limits read from the GPUs while it did not change say what the
	// agent's own changes left (checkLimitsLocked).
	limitsSet int
	// capsUnrecorded: the last write of caps.json failed; it is tried
	// again at every heartbeat.
	capsUnrecorded bool
	// gpusDown are the GPUs down at the last reading, with why, and
	// noUUID those the last registration listed without a UUID
	// (health.go)
	gpusDown map[int]string
	noUUID   map[int]bool
	// gpuUUIDs are the GPUs' UUIDs by index as gpusFile last recorded
	// them (gpuids.go)
	gpuUUIDs []string
	outlived []outlived // ended tasks' processes that outlived SIGKILL
	// outlivedUnrecorded: the last write of outlived.json failed; it is
	// tried again at the next heartbeat.
	outlivedUnrecorded bool
	// outlivedForget: the Exit.Forget of ended tasks, called once the
	// processes of theirs that outlived SIGKILL are recorded.
	outlivedForget []func()
	// diskErr, when set, says why the agent cannot start tasks: it
	// cannot write its data directory (disk.go).
	diskErr string
	closing bool
	// quitting is set, without the lock, as soon as the agent is to
	// stop (stopForShutdown), before closing is: a start that a call
	// holding the lock held up is not made once that call returns.
	quitting atomic.Bool
	// stopAfterDisconnect is the server's (Registered), and
	// disconnectTimer fires that long after its last answered call
	// (disconnect.go); disconnected is set from then until the next
	// answer, and held when assignments listed tasks it did not start
	// meanwhile; lastAs are the assignments last applied.
	stopAfterDisconnect time.Duration
	disconnectTimer     *time.Timer
	disconnected, held  bool
	lastAs              api.Assignments
}

// New checks cfg, detects what it leaves to detection and, for tasks run
// as processes, opens the log server's listener (so Addr is known at
// once). Call Run to start.
func New(cfg Config, srv Server) (*Agent, error) {
	if cfg.Name == "" {
		return nil, errors.New("agent: the node needs a name")
	}
	if cfg.DataDir == "" && cfg.Runtime == nil {
		return nil, errors.New("agent: a data directory is required (for task logs)")
	}
	if srv == nil {
		return nil, errors.New("agent: no server")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = defaultHeartbeat
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = defaultShutdownGrace
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.NextBeat == nil {
		cfg.NextBeat = everyInterval
	}
	cfg.Retention = cfg.Retention.withDefaults()
	if err := detect(&cfg); err != nil {
		return nil, err
	}
	a := &Agent{
		cfg: cfg, srv: srv, rt: cfg.Runtime, log: cfg.Logger.With("node", cfg.Name),
		baseLimits: map[int]int{},
		retryMin:   500 * time.Millisecond, retryMax: 10 * time.Second, logIdle: logIdleTimeout,
		refusedMin: 30 * time.Second, refusedMax: 5 * time.Minute,
		now: time.Now, deadlineCheck: defaultDeadlineCheck, frozenAfter: defaultFrozenAfter,
		failingRemind: defaultFailingRemind,
		changed:       make(chan struct{}, 1), kick: make(chan struct{}, 1), recert: make(chan struct{}, 1),
		node: cfg.Name, interval: cfg.Heartbeat,
		tasks: map[taskKey]*task{}, started: map[taskKey]bool{}, listed: map[taskKey]bool{},
		gpuUse: map[int]int{}, uncapDue: map[int]bool{}, mux: http.NewServeMux(), live: map[taskKey]*liveProc{},
		diskUsed: func() (float64, error) { return diskUsage(cfg.DataDir) },
	}
	if a.rt == nil {
		if err := a.openProcesses(); err != nil {
			return nil, err
		}
	} else {
		a.readBaseLimits()
		a.undoCaps()
	}
	a.loadStarted()
	return a, nil
}

// readBaseLimits reads each GPU's power limit as the agent starts: the
// limit it restores once a cap ends.
func (a *Agent) readBaseLimits() {
	if a.cfg.Devices == nil {
		return
	}
	for _, g := range a.cfg.Devices.Info() {
		a.baseLimits[g.Index] = g.PowerLimitW
	}
}

// openProcesses sets up the default runtime: the data directory, the
// log server's listener, and the end of what a previous agent left
// running (its processes killed, then its caps undone).
func (a *Agent) openProcesses() error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("agent: log server: %w", err)
	}
	if err := os.MkdirAll(a.cfg.DataDir, 0o755); err != nil {
		ln.Close()
		return fmt.Errorf("agent: data directory: %w", err)
	}
	lock, err := lockDataDir(a.cfg.DataDir) // before anything in it is taken for a dead agent's
	if err != nil {
		ln.Close()
		return err
	}
	a.lock = lock
	// A dead agent's leftovers, now that no running agent's can be taken
	// for them: its tasks are killed under their caps, then the caps are
	// undone (a task never runs uncapped meanwhile).
	p := newProcesses(a.cfg.DataDir, max(a.cfg.Retention.LogMaxBytes, 0), a.log)
	if err := p.useCgroups(a.cfg.Cgroups); err != nil {
		ln.Close()
		lock.Close()
		return fmt.Errorf("agent: %w", err)
	}
	left := p.killLeftovers()
	// The GPUs at the indices the dead agent gave them (caps.json,
	// groups.json and outlived.json name them so), then their limits.
	a.pinGPUs()
	if a.loadOutlived(left) {
		p.forgetLeftovers()
	}
	if p.cg != nil {
		p.cg.sweep() // the dead agent's tasks' cgroups, emptied
	} else {
		sweepUnused(a.cfg.DataDir) // the dead agent's, which made cgroups
	}
	a.readBaseLimits()
	a.undoCaps()
	a.rt, a.ln, a.advertise = p, ln, advertiseURL(ln.Addr(), a.cfg.TLS != nil)
	a.mux.HandleFunc("GET "+api.AgentLogsPath, a.serveLogs)
	a.httpSrv = &http.Server{Handler: a.mux, ReadHeaderTimeout: 10 * time.Second}
	if a.cfg.TLS != nil {
		a.ln = tls.NewListener(a.ln, a.cfg.TLS)
	}
	return nil
}

// Addr is the log server's listening address, host:port; "" without a
// log server.
func (a *Agent) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Handler is the log server: GET api.AgentLogsPath (nothing without a log
// server).
func (a *Agent) Handler() http.Handler { return a.mux }

// Run registers the node and runs it until ctx is done; call it once.
// Then it stops every task (SIGTERM, the task's grace capped at
// Config.ShutdownGrace, SIGKILL of the process group), waits for them,
// sends a last heartbeat and stops the log server. It returns once that
// is done and the stop begun as ctx was done (stopForShutdown) has
// returned too, or Config.ShutdownGrace after the rest should that stop
// hang. It returns nil after a shutdown through ctx, an error wrapping
// ErrRevoked when the node's certificate was revoked and it has no
// Config.Reenroll (revoked.go), or the log server's error if that
// failed.
func (a *Agent) Run(ctx context.Context) error {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	serveErr := make(chan error, 1)
	if a.httpSrv == nil {
		serveErr <- nil
	} else {
		// Keep-alive connections left idle are closed: anyone who
		// reaches the port could otherwise hold them open for ever.
		a.httpSrv.IdleTimeout = a.logIdle
		go func() {
			err := a.httpSrv.Serve(a.ln)
			if !errors.Is(err, http.ErrServerClosed) {
				err = fmt.Errorf("agent: log server: %w", err)
				cancel(err)
			} else {
				err = nil
			}
			serveErr <- err
		}()
	}
	a.log.Info("agent starting", "logs", a.advertise, "data", a.cfg.DataDir)
	// The tasks are stopped as soon as the agent is to stop, even while
	// a call that hangs holds its lock (stopForShutdown).
	stopDone := make(chan struct{})
	stopTasks := context.AfterFunc(rctx, func() {
		defer close(stopDone)
		a.stopForShutdown()
	})
	var collector sync.WaitGroup
	if _, ok := a.rt.(*processes); ok {
		collector.Go(func() { a.collectLoop(rctx) })
	}
	registered := false
	var revokedErr error // the server's refusal of the node's certificate as revoked, when Run ends for it
	wait := a.retryMin
	for {
		err := a.register(rctx)
		began := time.Now()
		if err == nil {
			registered = true
			err = a.session(rctx)
		}
		if rctx.Err() != nil {
			break
		}
		if errors.Is(err, ErrRevoked) {
			if !a.revoked(rctx, err) {
				revokedErr = err
				break
			}
			continue
		}
		if errors.Is(err, errGPUBack) {
			a.log.Info("registering again: a GPU down at registration is back", "err", err)
		} else {
			a.log.Warn("the server no longer knows this node; registering again", "err", err)
		}
		if time.Since(began) > a.retryMax {
			wait = a.retryMin
			continue
		}
		select { // forgotten again at once: do not hammer the server
		case <-rctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, a.retryMax)
	}
	// A node refused (revoked) sends no more heartbeats: each would be
	// refused.
	a.shutdown(registered && revokedErr == nil)
	if !stopTasks() {
		// The stop began as the agent was told to stop is still to be
		// waited for; its work is done (shutdown's), so only a call of
		// its own that hangs holds it longer than a moment.
		select {
		case <-stopDone:
		case <-time.After(a.cfg.ShutdownGrace):
			a.log.Warn("the shutdown's stop of the tasks did not return (a signal or a log write that hangs?); exiting without it",
				"waited", a.cfg.ShutdownGrace)
		}
	}
	cancel(nil)
	collector.Wait()
	if err := <-serveErr; err != nil {
		return err
	}
	if revokedErr != nil {
		return fmt.Errorf("agent: node %s: %w", a.cfg.Name, revokedErr)
	}
	return nil
}

// stopForShutdown stops every task as the agent is to stop (Run's
// context done), before the loops have ended: under the agent's lock
// when it is free, otherwise without it first (stopFrozen), as a call
// that may hang holds it, then under it should the call return within
// frozenAfter. Only a call that holds the lock longer is warned of: a
// lock held for a moment (a heartbeat being built) is no hang. shutdown
// records the stop once it has the lock.
func (a *Agent) stopForShutdown() {
	a.quitting.Store(true)
	if !a.mu.TryLock() {
		n := a.stopFrozen(reasonShutdown, a.cfg.ShutdownGrace)
		if !a.lockSoon() {
			if n > 0 {
				a.log.Warn("the agent is to stop while a call holds its lock (a GPU, disk or fork that hangs?): its tasks were signalled without it",
					"tasks", n, "held_over", a.frozenAfter)
			}
			return
		}
	}
	defer a.mu.Unlock()
	a.stopAllLocked()
}

// lockSoon takes the agent's lock should it be free within frozenAfter,
// and says whether it did. (A mutex cannot be waited for with a bound:
// it is tried every few milliseconds.)
func (a *Agent) lockSoon() bool {
	end := time.Now().Add(a.frozenAfter)
	for {
		if a.mu.TryLock() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stopAllLocked stops every running task for the shutdown, its grace
// capped at Config.ShutdownGrace, and starts nothing more (closing); it
// says how many tasks run.
func (a *Agent) stopAllLocked() int {
	a.closing = true
	if a.disconnectTimer != nil {
		a.disconnectTimer.Stop()
	}
	n := 0
	for _, t := range a.tasks {
		if t.state == api.ReplicaRunning {
			a.stopLocked(t, min(t.grace(), a.cfg.ShutdownGrace), reasonShutdown)
			n++
		}
	}
	return n
}

// shutdown stops every task and waits for them, reports them once more
// and stops the log server.
func (a *Agent) shutdown(registered bool) {
	a.mu.Lock()
	n := a.stopAllLocked()
	every := a.interval
	a.mu.Unlock()
	if n > 0 {
		a.log.Info("stopping tasks before exiting", "tasks", n)
	}
	stopped := make(chan struct{})
	go func() { a.procs.Wait(); close(stopped) }()
	if registered {
		// Heartbeats go on while the tasks stop, saying the agent leaves:
		// the server drains the node at once (nothing new is placed where
		// it would never start), and does not count it silent meanwhile.
		a.leavingBeat()
		if every <= 0 {
			every = time.Second
		}
		tick := time.NewTicker(every)
		for waiting := true; waiting; {
			select {
			case <-stopped:
				waiting = false
			case <-tick.C:
				a.leavingBeat()
			}
		}
		tick.Stop()
	}
	<-stopped
	if registered {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := a.beat(ctx); err != nil {
			a.log.Warn("last heartbeat failed", "err", err)
		} else {
			a.forgetReported()
		}
		cancel()
	}
	if a.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := a.httpSrv.Shutdown(ctx); err != nil {
			a.httpSrv.Close()
		}
	}
	if p, ok := a.rt.(*processes); ok {
		p.stopWatching()
		if p.cg != nil {
			p.cg.close() // its tasks are over: their cgroups and its own, if empty
		}
	}
	a.recordEnded()
	if a.lock != nil {
		_ = a.lock.Close() // its tasks are over: another agent may take the directory
	}
	a.log.Info("agent stopped")
}

// leavingBeat sends one heartbeat while the agent shuts down (closing
// makes it say so); a failure is the last heartbeat's to report.
func (a *Agent) leavingBeat() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := a.beat(ctx); err != nil {
		a.log.Debug("heartbeat while stopping tasks failed", "err", err)
	}
}

// notify wakes the heartbeat loop: a task changed state, or the node's
// certificate was renewed (CertificateRenewed).
func (a *Agent) notify() {
	select {
	case a.changed <- struct{}{}:
	default:
	}
}
