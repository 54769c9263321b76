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
	// directories (DataDir/work); required.
	DataDir string
	// Devices are the node's GPUs; nil for a node without GPUs. The agent
	// does not close them.
	Devices gpu.Devices
	// CPUs and MemoryGiB describe the node; 0 detects them from the
	// machine (runtime.NumCPU, /proc/meminfo).
	CPUs, MemoryGiB int
	// Listen is the address of the agent's log server; default
	// "127.0.0.1:0". A wildcard host is advertised as the machine's host
	// name.
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
}

// Timing of the agent's calls.
const (
	defaultHeartbeat     = 5 * time.Second
	defaultShutdownGrace = 10 * time.Second
	pollWait             = 30 * time.Second // the long-poll's wait
	callTimeout          = 15 * time.Second // beyond the wait, for any call
	debounce             = 5 * time.Millisecond
	minPollGap           = time.Second // between unchanged answers
)

// Agent runs one node's tasks. Create it with New and start it with Run.
type Agent struct {
	cfg        Config
	srv        Server
	log        *slog.Logger
	ln         net.Listener
	advertise  string // http://host:port of the log server
	httpSrv    *http.Server
	mux        *http.ServeMux
	baseLimits map[int]int // each GPU's power limit when the agent started

	retryMin, retryMax time.Duration // backoff of failed calls

	changed chan struct{} // a task changed state (capacity 1)
	kick    chan struct{} // a heartbeat saw newer assignments (capacity 1)
	procs   sync.WaitGroup

	mu       sync.Mutex
	node     string // as the server named it
	interval time.Duration
	siteTags []string // the jurisdictions of the node's site, as the server said at registration
	// logsToken is the bearer token the log server requires, from the
	// server at registration; until then it serves no logs.
	logsToken string
	version   int64 // of the last assignments applied
	tasks     map[taskKey]*task
	started   map[taskKey]bool // ever started (or refused): never again
	listed    map[taskKey]bool // in the last assignments
	gpuUse    map[int]int      // tasks holding each GPU
	closing   bool
}

// New checks cfg, detects what it leaves to detection and opens the log
// server's listener (so Addr is known at once). Call Run to start.
func New(cfg Config, srv Server) (*Agent, error) {
	if cfg.Name == "" {
		return nil, errors.New("agent: the node needs a name")
	}
	if cfg.DataDir == "" {
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
	if err := detect(&cfg); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("agent: log server: %w", err)
	}
	a := &Agent{
		cfg: cfg, srv: srv, log: cfg.Logger.With("node", cfg.Name), ln: ln,
		advertise:  advertiseURL(ln.Addr(), cfg.TLS != nil),
		baseLimits: map[int]int{},
		retryMin:   500 * time.Millisecond, retryMax: 10 * time.Second,
		changed: make(chan struct{}, 1), kick: make(chan struct{}, 1),
		node: cfg.Name, interval: cfg.Heartbeat,
		tasks: map[taskKey]*task{}, started: map[taskKey]bool{}, listed: map[taskKey]bool{},
		gpuUse: map[int]int{},
	}
	if cfg.Devices != nil {
		for _, g := range cfg.Devices.Info() {
			a.baseLimits[g.Index] = g.PowerLimitW
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		ln.Close()
		return nil, fmt.Errorf("agent: data directory: %w", err)
	}
	a.killLeftovers()
	a.mux = http.NewServeMux()
	a.mux.HandleFunc("GET "+api.AgentLogsPath, a.serveLogs)
	a.httpSrv = &http.Server{Handler: a.mux, ReadHeaderTimeout: 10 * time.Second}
	if cfg.TLS != nil {
		a.ln = tls.NewListener(a.ln, cfg.TLS)
	}
	return a, nil
}

// Addr is the log server's listening address, host:port.
func (a *Agent) Addr() string { return a.ln.Addr().String() }

// Handler is the log server: GET api.AgentLogsPath.
func (a *Agent) Handler() http.Handler { return a.mux }

// Run registers the node and runs it until ctx is done; call it once.
// Then it stops every task (SIGTERM, the task's grace capped at
// Config.ShutdownGrace, SIGKILL of the process group), waits for them,
// sends a last heartbeat and stops the log server. It returns nil after a shutdown through ctx,
// or the log server's error if that failed.
func (a *Agent) Run(ctx context.Context) error {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	serveErr := make(chan error, 1)
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
	a.log.Info("agent starting", "logs", a.advertise, "data", a.cfg.DataDir)
	registered := false
	wait := a.retryMin
	for a.register(rctx) == nil {
		registered = true
		began := time.Now()
		err := a.session(rctx)
		if rctx.Err() != nil {
			break
		}
		a.log.Warn("the server no longer knows this node; registering again", "err", err)
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
	a.shutdown(registered)
	if err := <-serveErr; err != nil {
		return err
	}
	return nil
}

// shutdown stops every task and waits for them, reports them once more
// and stops the log server.
func (a *Agent) shutdown(registered bool) {
	a.mu.Lock()
	a.closing = true
	n := 0
	for _, t := range a.tasks {
		if t.state == api.ReplicaRunning {
			a.stopLocked(t, min(t.grace(), a.cfg.ShutdownGrace), reasonShutdown)
			n++
		}
	}
	a.mu.Unlock()
	if n > 0 {
		a.log.Info("stopping tasks before exiting", "tasks", n)
	}
	a.procs.Wait()
	if registered {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := a.beat(ctx); err != nil {
			a.log.Warn("last heartbeat failed", "err", err)
		}
		cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := a.httpSrv.Shutdown(ctx); err != nil {
		a.httpSrv.Close()
	}
	a.log.Info("agent stopped")
}

// notify wakes the heartbeat loop: a task changed state.
func (a *Agent) notify() {
	select {
	case a.changed <- struct{}{}:
	default:
	}
}
