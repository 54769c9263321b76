package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carnot-dc/carnot/internal/agent"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/pki"
)

// Config is a fleet's configuration. Zero values take the defaults
// noted.
type Config struct {
	// Server is the server's operator API: a URL or a comma-separated
	// list (internal/client's form); required.
	Server string
	Nodes  int    // how many virtual nodes; at least 1
	Prefix string // node names are Prefix-0000, Prefix-0001, …; default "fake"
	// Site is the nodes' site; "" takes their certificates' (the join
	// token's). A certificate of another site is an error.
	Site string
	// DataDir holds each node's key and certificate in DataDir/<node>/
	// and the server's CA in DataDir/ca.crt; required.
	DataDir string
	// JoinToken enrolls the nodes that have no valid certificate.
	JoinToken string
	// Roots are the CAs to trust the server with; nil: DataDir/ca.crt
	// when present, else the system's.
	Roots *x509.CertPool

	GPUs      int    // fake GPUs per node; 0: none
	GPUModel  string // a catalog model; default "H100"
	CPUs      int    // per node; default 128
	MemoryGiB int    // per node; default 1024

	// DefaultDuration is how long a task runs that says nothing of its
	// duration (see the package doc); 0: until it is stopped.
	DefaultDuration time.Duration
	// Heartbeat is the heartbeat interval until the server sets one;
	// default 5 s.
	Heartbeat time.Duration
	// Parallel bounds the enrollments and registrations in flight;
	// default 16.
	Parallel int
	// ReportEvery is how often Run logs the fleet's figures; default
	// 30 s, negative: never.
	ReportEvery time.Duration
	Version     string // reported in Register
	Logger      *slog.Logger
}

func (c *Config) defaults() error {
	if c.Nodes < 1 {
		return fmt.Errorf("fleet: %d nodes: want at least 1", c.Nodes)
	}
	if c.Server == "" {
		return errors.New("fleet: the server's address is required")
	}
	if c.DataDir == "" {
		return errors.New("fleet: a data directory is required (for the nodes' certificates)")
	}
	if c.Prefix == "" {
		c.Prefix = "fake"
	}
	if err := pki.CheckName(nodeName(c.Prefix, c.Nodes-1)); err != nil {
		return fmt.Errorf("fleet: prefix %q: %w", c.Prefix, err)
	}
	if c.GPUs < 0 {
		return fmt.Errorf("fleet: %d GPUs per node: the count must not be negative", c.GPUs)
	}
	if c.GPUModel == "" {
		c.GPUModel = "H100"
	}
	if _, ok := facility.Catalog()[c.GPUModel]; !ok {
		return fmt.Errorf("fleet: unknown GPU model %q (a catalog name: A100, H100, H200, B200, …)", c.GPUModel)
	}
	if c.CPUs <= 0 {
		c.CPUs = 128
	}
	if c.MemoryGiB <= 0 {
		c.MemoryGiB = 1024
	}
	if c.DefaultDuration < 0 {
		return fmt.Errorf("fleet: default task duration %s is negative", c.DefaultDuration)
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 5 * time.Second
	}
	if c.Parallel <= 0 {
		c.Parallel = 16
	}
	if c.ReportEvery == 0 {
		c.ReportEvery = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// nodeName is the name of the fleet's i-th node.
func nodeName(prefix string, i int) string { return fmt.Sprintf("%s-%04d", prefix, i) }

// Fleet is many virtual nodes in one process. Create it with New and run
// it with Run.
type Fleet struct {
	cfg   Config
	log   *slog.Logger
	site  string    // the nodes' site, from their certificates
	t0    time.Time // origin of the heartbeat slots
	names []string
	nodes []*agent.Agent
	// renew renews the nodes' certificates while they run.
	renew []*pki.Renewer
	srvs  []*nodeServer
	cls   []*client.Client // the nodes' clients
	stats counters
	ready chan struct{} // closed once every node registered
}

// Stats are a fleet's figures since it started.
type Stats struct {
	Nodes      int   // virtual nodes
	Registered int64 // nodes that registered (at least once)
	Started    int64 // fake tasks started
	Running    int64 // fake tasks running now
	Succeeded  int64 // fake tasks that ended with exit code 0
	Failed     int64 // fake tasks that ended otherwise, or were refused or could not start
	Heartbeats int64 // heartbeats the server accepted
	Errors     int64 // calls that failed (and were retried)
	Dials      int64 // connections opened to the server
}

// Stats returns the fleet's figures.
func (f *Fleet) Stats() Stats {
	return Stats{Nodes: len(f.nodes), Registered: f.stats.registered.Load(), Started: f.stats.started.Load(),
		Running: f.stats.running.Load(), Succeeded: f.stats.succeeded.Load(), Failed: f.stats.failures.Load(),
		Heartbeats: f.stats.heartbeats.Load(), Errors: f.stats.errors.Load(), Dials: f.stats.dials.Load()}
}

// Ready is closed once every node has registered.
func (f *Fleet) Ready() <-chan struct{} { return f.ready }

// Site is the nodes' site.
func (f *Fleet) Site() string { return f.site }

// Nodes are the names of the fleet's nodes.
func (f *Fleet) Nodes() []string { return slices.Clone(f.names) }

// New checks cfg and gives every node its certificate: the one in
// DataDir/<node>/, or a new one from the server for cfg.JoinToken (at
// most Parallel enrollments at once). It fails on the first node that has
// none and cannot get one. Call Run to start the nodes.
func New(ctx context.Context, cfg Config) (*Fleet, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("fleet: data directory: %w", err)
	}
	roots, err := fleetRoots(&cfg)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	f := &Fleet{cfg: cfg, log: cfg.Logger, ready: make(chan struct{})}
	e := &enroller{cfg: &f.cfg, roots: roots}
	certs := make([]tls.Certificate, cfg.Nodes)
	sites := make([]string, cfg.Nodes)
	began := time.Now()
	if err := forEach(ctx, cfg.Nodes, cfg.Parallel, func(ctx context.Context, i int) error {
		var err error
		certs[i], sites[i], err = e.certificate(ctx, nodeName(cfg.Prefix, i))
		return err
	}); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	f.site = cfg.Site
	for i, s := range sites {
		if f.site == "" {
			f.site = s
		}
		if s != f.site {
			return nil, fmt.Errorf("fleet: node %s: its certificate binds it to site %s, not %s", nodeName(cfg.Prefix, i), s, f.site)
		}
	}
	if roots, err = e.serverRoots(); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	f.log.Info("fleet nodes have their certificates", "nodes", cfg.Nodes, "site", f.site, "took", time.Since(began).Round(time.Millisecond))
	gm := facility.Catalog()[cfg.GPUModel]
	for i := range cfg.Nodes {
		held := pki.NewNodeCert(certs[i])
		cl, err := nodeClient(cfg.Server, held.ClientConfig(roots), &f.stats.dials, cfg.Version)
		if err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
		r := e.renewer(nodeName(cfg.Prefix, i), held, roots)
		f.renew = append(f.renew, r)
		srv := &nodeServer{Server: cl, stats: &f.stats}
		var reenroll func(context.Context) error
		if cfg.JoinToken != "" {
			reenroll = e.reenroller(nodeName(cfg.Prefix, i), f.site, held, cl)
		}
		n, err := f.newNode(i, srv, gm, reenroll)
		if err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
		// Its idle connections would go on presenting the previous
		// certificate, which the server refuses once the new one is
		// used; so would its long poll out with it.
		r.Renewed = func(tls.Certificate) { cl.Reconnect(); n.CertificateRenewed() }
		f.cls, f.srvs = append(f.cls, cl), append(f.srvs, srv)
		f.names, f.nodes = append(f.names, nodeName(cfg.Prefix, i)), append(f.nodes, n)
	}
	return f, nil
}

// nodeClient is one node's client of server, its connections made
// with cfg (which presents the node's certificate) and counted in
// dials. Its Reconnect, at a renewal, leaves every connection made
// before, those in use then too: a connection of a heartbeat out then
// would otherwise go back to its pool and carry the node's next request
// with the certificate the server refuses once the renewed one is used.
func nodeClient(server string, cfg *tls.Config, dials *atomic.Int64, version string) (*client.Client, error) {
	return client.New(server, client.WithTransport(transport(cfg, dials)), client.WithUserAgent(userAgent(version)))
}

// transport is one node's HTTP transport: its own connections, since
// each carries the node's client certificate. dials counts the
// connections it opens.
func transport(cfg *tls.Config, dials *atomic.Int64) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		TLSClientConfig: cfg,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 2,
		MaxConnsPerHost:     2, // a long poll and a heartbeat at most: no third connection in a race
		IdleConnTimeout:     90 * time.Second,
	}
}

// Run runs every node until ctx is done: each registers (at most
// Parallel first registrations at once), then heartbeats and long-polls
// its assignments: each node is an agent.Agent. When ctx is done every
// node stops its running tasks, sends a last heartbeat and Run returns
// nil. Call it once.
func (f *Fleet) Run(ctx context.Context) error {
	f.t0 = time.Now()
	began := f.t0
	slots := make(chan struct{}, f.cfg.Parallel)
	var left atomic.Int64
	left.Store(int64(len(f.nodes)))
	registered := func() {
		f.stats.registered.Add(1)
		if left.Add(-1) == 0 {
			f.log.Info("every fleet node registered", "nodes", len(f.nodes), "took", time.Since(began).Round(time.Millisecond))
			close(f.ready)
		}
	}
	var wg sync.WaitGroup
	for i, n := range f.nodes {
		wg.Go(func() {
			select { // a slot until the node first registered
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			var once sync.Once
			free := func() { once.Do(func() { <-slots }) }
			defer free()
			f.srvs[i].registered = func() { free(); registered() }
			rctx, stop := context.WithCancel(ctx)
			renewed := make(chan struct{})
			go func() { defer close(renewed); f.renew[i].Run(rctx) }()
			if err := n.Run(ctx); err != nil {
				f.log.Error("fleet node failed", "node", f.names[i], "err", err)
			}
			stop()
			<-renewed
		})
	}
	if f.cfg.ReportEvery > 0 {
		wg.Go(func() { f.report(ctx) })
	}
	wg.Wait()
	for _, cl := range f.cls {
		cl.CloseIdleConnections()
	}
	s := f.Stats()
	f.log.Info("fleet stopped", "tasks_started", s.Started, "succeeded", s.Succeeded, "failed", s.Failed)
	return nil
}

// report logs the fleet's figures every ReportEvery.
func (f *Fleet) report(ctx context.Context) {
	t := time.NewTicker(f.cfg.ReportEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := f.Stats()
		f.log.Info("fleet", "nodes", s.Nodes, "registered", s.Registered, "running", s.Running, "succeeded", s.Succeeded,
			"failed", s.Failed, "heartbeats", s.Heartbeats, "errors", s.Errors, "connections", s.Dials)
	}
}

// slot is node i's next heartbeat time after now: the fleet's nodes
// beat once per interval each, at offsets spread evenly over it, so a
// thousand nodes do not heartbeat in lockstep.
func (f *Fleet) slot(i int, now time.Time, interval time.Duration) time.Time {
	base := f.t0.Add(interval * time.Duration(i) / time.Duration(len(f.nodes)))
	if now.Before(base) {
		return base
	}
	k := now.Sub(base)/interval + 1
	return base.Add(k * interval)
}

// forEach runs fn(i) for i in [0, n), at most par at once, and returns
// the first error (the others are cancelled).
func forEach(ctx context.Context, n, par int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}
