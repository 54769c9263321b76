package fleet

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carnot-dc/carnot/internal/agent"
	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
	"github.com/carnot-dc/carnot/internal/model"
)

// newNode is the fleet's i-th node: the real agent, with the fake
// runtime and fake GPUs, heartbeating in its slot, and calling the server
// through srv, which counts for the fleet's figures; reenroll, when set,
// enrolls the node again once its certificate is revoked.
func (f *Fleet) newNode(i int, srv *nodeServer, gm model.GPUModel, reenroll func(context.Context) error) (*agent.Agent, error) {
	name := nodeName(f.cfg.Prefix, i)
	return agent.New(agent.Config{
		Name: name, Site: f.site, Devices: gpu.NewFakeOf(f.cfg.GPUs, gm, name), FakeGPUs: true,
		CPUs: f.cfg.CPUs, MemoryGiB: f.cfg.MemoryGiB, Version: f.cfg.Version, Heartbeat: f.cfg.Heartbeat,
		Logger:       slog.New(quiet{f.log.Handler()}),
		Runtime:      fakeRuntime{def: f.cfg.DefaultDuration},
		NextBeat:     func(last time.Time, interval time.Duration) time.Time { return f.slot(i, last, interval) },
		OnTaskChange: f.stats.task,
		Reenroll:     reenroll,
	}, srv)
}

// nodeServer is the server as one node calls it: it counts the fleet's
// figures, and tells the fleet when the node first registered.
type nodeServer struct {
	agent.Server
	stats *counters
	// registered is called once, when the node first registered.
	registered func()
	once       sync.Once
}

func (s *nodeServer) Register(ctx context.Context, r api.Register) (api.Registered, error) {
	reg, err := s.Server.Register(ctx, r)
	s.stats.failed(ctx, err)
	if err == nil {
		s.once.Do(s.registered)
	}
	return reg, err
}

func (s *nodeServer) Heartbeat(ctx context.Context, node string, hb api.Heartbeat) (api.HeartbeatReply, error) {
	reply, err := s.Server.Heartbeat(ctx, node, hb)
	if err == nil {
		s.stats.heartbeats.Add(1)
	}
	s.stats.failed(ctx, err)
	return reply, err
}

func (s *nodeServer) Assignments(ctx context.Context, node string, after int64, wait time.Duration) (api.Assignments, error) {
	as, err := s.Server.Assignments(ctx, node, after, wait)
	s.stats.failed(ctx, err)
	return as, err
}

// counters are the fleet's running figures.
type counters struct {
	registered, started, running, succeeded, failures, heartbeats, errors, dials atomic.Int64
}

// failed counts a call that failed and will be retried: not one the
// node cancelled (its shutdown, a long poll cut short), nor a 404 (the
// node registers again).
func (c *counters) failed(ctx context.Context, err error) {
	var p *api.Problem
	if err == nil || errors.Is(ctx.Err(), context.Canceled) || errors.As(err, &p) && p.Status == http.StatusNotFound {
		return
	}
	c.errors.Add(1)
}

// task counts a task's change: a start, or an end (exit code 0 succeeds;
// anything else, a refusal or a failure to start fails).
func (c *counters) task(s api.TaskStatus) {
	switch {
	case s.State == api.ReplicaRunning:
		c.started.Add(1)
		c.running.Add(1)
		return
	case s.StartedAt != nil:
		c.running.Add(-1)
	}
	if s.State == api.ReplicaExited && s.ExitCode != nil && *s.ExitCode == 0 {
		c.succeeded.Add(1)
	} else {
		c.failures.Add(1)
	}
}

// quiet is the nodes' log handler: what the agent says at Info of one
// node and its tasks (registered, task started, task ended) is Debug in
// a fleet of thousands; warnings and errors stay as they are.
type quiet struct{ slog.Handler }

func demote(l slog.Level) slog.Level {
	if l < slog.LevelWarn {
		return min(l, slog.LevelDebug)
	}
	return l
}

func (q quiet) Enabled(ctx context.Context, l slog.Level) bool {
	return q.Handler.Enabled(ctx, demote(l))
}

func (q quiet) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return q.Handler.Handle(ctx, r)
}

func (q quiet) WithAttrs(as []slog.Attr) slog.Handler { return quiet{q.Handler.WithAttrs(as)} }
func (q quiet) WithGroup(name string) slog.Handler    { return quiet{q.Handler.WithGroup(name)} }
