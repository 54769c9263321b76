package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// changes collects what one operation changed, to commit in one store
// transaction and then announce: jobs and nodes to write, events to
// append, nodes whose agents must fetch their assignments.
type changes struct {
	jobs   map[string]*jobState
	nodes  map[string]*nodeState
	events []api.Event
	bumps  map[string]bool
	kick   bool
	// actor is who asked for the change (an API caller's subject); the
	// events without one are recorded with it.
	actor string
}

func newChanges() *changes {
	return &changes{jobs: map[string]*jobState{}, nodes: map[string]*nodeState{}, bumps: map[string]bool{}}
}

// job marks js changed and, with a type, records an event.
func (c *changes) job(js *jobState, typ, msg string) {
	c.jobs[js.doc.ID] = js
	if typ != "" {
		c.events = append(c.events, api.Event{Job: js.doc.ID, Tenant: js.doc.Tenant, Type: typ, Message: msg})
	}
}

// node marks n changed and, with a type, records an event.
func (c *changes) node(n *nodeState, typ, msg string) {
	c.nodes[n.doc.Name] = n
	if typ != "" {
		c.events = append(c.events, api.Event{Node: n.doc.Name, Type: typ, Message: msg})
	}
}

// bump marks a node's assignments changed.
func (c *changes) bump(node string) { c.bumps[node] = true }

func (c *changes) empty() bool {
	return len(c.jobs) == 0 && len(c.nodes) == 0 && len(c.events) == 0 && len(c.bumps) == 0
}

// commitTimeout bounds one commit; a commit that takes longer fails.
const commitTimeout = 30 * time.Second

// errStale refuses a change once a commit failed (see Server.fail).
var errStale = errors.New("server: an earlier commit failed; the state is being reloaded from the store")

// commit writes c in one transaction and then wakes the agents and hands
// the events to the watchers (who get them in seq order: watch.go).
// Caller holds mu: nothing is announced before it is durable, and no
// later change of the same job can be written before this one.
// Once a commit failed it refuses every change, even an empty one:
// memory may hold what the store does not (after a replica's exit failed
// to commit, the next report of that exit changes nothing in memory), and
// no answer may say it is saved.
func (s *Server) commit(ctx context.Context, c *changes) error {
	if s.failed != nil {
		return fmt.Errorf("%w (%v)", errStale, s.failed)
	}
	s.settleWaits(c) // whatever changed may end a held start's wait
	if c.empty() {
		if c.kick {
			s.Kick()
		}
		return nil
	}
	now := s.cfg.Now().UTC()
	for i := range c.events {
		c.events[i].Message = clip(c.events[i].Message)
		if c.events[i].Time.IsZero() {
			c.events[i].Time = now
		}
		if c.events[i].Actor == "" {
			c.events[i].Actor = c.actor
		}
	}
	ids := make([]string, 0, len(c.jobs))
	for id := range c.jobs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	docs := make([]*api.Job, 0, len(ids))
	for _, id := range ids {
		d := c.jobs[id].doc
		d.Replicas = slices.Clone(d.Replicas)
		docs = append(docs, &d)
	}
	nodes := make([]*api.Node, 0, len(c.nodes))
	for _, name := range sortedKeys(c.nodes) {
		d := c.nodes[name].doc
		d.Telemetry, d.Jobs = nil, nil
		nodes = append(nodes, &d)
	}
	// Jobs, nodes and the events that record their change: one
	// transaction, so the audit log holds every change and only those.
	// Memory holds the change already, so the write must not end with
	// the caller (a client hanging up): it is bounded by commitTimeout
	// instead, and a write that fails or times out retires the server.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	wr := s.watch.begin()
	defer wr.failed(true) // should Update panic; a no-op once ended
	if err := s.store.Update(wctx, docs, c.events, nodes...); err != nil {
		wr.failed(true) // the server fails (its caller calls fail)
		return fmt.Errorf("server: saving %d jobs, %d nodes and %d events: %w", len(docs), len(nodes), len(c.events), err)
	}
	for i, id := range ids {
		c.jobs[id].saved = docs[i].Usage
	}
	for _, js := range c.jobs {
		s.forgetFinal(js)
	}
	for _, name := range sortedKeys(c.bumps) {
		s.bump(name)
	}
	wr.done(c.events)
	if c.kick {
		s.Kick()
	}
	return nil
}

// maxEventMessage bounds an event's message, in bytes. Messages carry
// text from requests and nodes (a checkpoint's note, a task's error, a
// site a node claims); the audit log's canonical form may write a byte
// of it as six, and its lines are at most audit.MaxLine: an unbounded
// message would make the server's own export fail verification.
const maxEventMessage = 4096

// clip cuts msg to maxEventMessage bytes, at a rune boundary, marking
// the cut.
func clip(msg string) string {
	if len(msg) <= maxEventMessage {
		return msg
	}
	cut := maxEventMessage - len("…")
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// putRecords writes recs and evs in one transaction (store.PutRecords)
// and hands evs to the watchers once they are durable.
func (s *Server) putRecords(ctx context.Context, recs []store.Record, evs []api.Event) error {
	wr := s.watch.begin()
	defer wr.failed(true) // should PutRecords panic; a no-op once ended
	if err := s.store.PutRecords(ctx, recs, evs); err != nil {
		wr.failed(maybeSaved(ctx, err))
		return err
	}
	wr.done(evs)
	return nil
}

// maybeSaved reports whether a store call that failed with err may have
// committed all the same: unless the store refused it (ErrExists, ErrNUL)
// or its caller went away first (the stores write nothing for a call
// that returns its own context's cancellation; a deadline may come
// during the commit).
func maybeSaved(ctx context.Context, err error) bool {
	canceled := errors.Is(err, context.Canceled) && errors.Is(ctx.Err(), context.Canceled)
	return !errors.Is(err, store.ErrExists) && !errors.Is(err, store.ErrNUL) && !canceled
}
