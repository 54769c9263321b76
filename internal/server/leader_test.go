package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/postgres"
)

// leaderEvents lists the leader events, oldest first.
func (e *env) leaderEvents() []api.Event {
	e.t.Helper()
	var evs api.EventList
	if code := e.do("GET", "/v1/events", nil, &evs); code != 200 {
		e.t.Fatalf("events: %d", code)
	}
	var out []api.Event
	for _, ev := range evs.Events {
		if ev.Type == api.EventLeader {
			out = append(out, ev)
		}
	}
	return out
}

// Each new leader of a control plane is recorded once, with the one
// before it; a reload of the state under the same lease (after a failed
// commit) records nothing, nor does a single server.
func TestLeaderChangesAreRecorded(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	fac := DevFacility("local", "FR")
	lead := func(l *Leadership) func(*Config) { return func(c *Config) { c.Leader = l } }
	r1 := &Leadership{Holder: "r1 (instance a1)", Address: "https://10.0.0.1:9443", Epoch: 3}
	r2 := &Leadership{Holder: "r2 (instance b2)", Address: "https://10.0.0.2:9443", Epoch: 4}

	e := openEnv(t, dir, fac, true, clk)
	if evs := e.leaderEvents(); len(evs) != 0 {
		t.Fatalf("a single server recorded %d leader events", len(evs))
	}
	e.s.store.Close()
	e = openEnv(t, dir, fac, true, clk, lead(r1))
	e.s.store.Close()
	e = openEnv(t, dir, fac, true, clk, lead(r1)) // a reload under the same lease
	e.s.store.Close()
	e = openEnv(t, dir, fac, true, clk, lead(r2))
	evs := e.leaderEvents()
	want := []string{
		"r1 (instance a1) leads the control plane at epoch 3, operator API https://10.0.0.1:9443; the first leader recorded",
		"r2 (instance b2) leads the control plane at epoch 4, operator API https://10.0.0.2:9443; r1 (instance a1) led before it, at epoch 3",
	}
	if len(evs) != len(want) {
		t.Fatalf("leader events: %+v; want %d", evs, len(want))
	}
	for i, ev := range evs {
		if ev.Message != want[i] || ev.Actor != actorLease || ev.Tenant != "" || ev.Job != "" {
			t.Errorf("leader event %d: %+v; want %q by %s", i, ev, want[i], actorLease)
		}
	}
}

// On PostgreSQL, with the leases replicas take: a leader deposed before
// it built its server writes no leader event (its writes are fenced, so
// it builds none), and the leader events are in the audit log.
func TestLeaderChangesAreAuditedOnPostgreSQL(t *testing.T) {
	url := pgSchemaURL(t)
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	signer, verifier := auditKeys(t)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	start := func(l store.Lease) (*Server, error) {
		return New(ctx, Config{Facility: DevFacility("local", "FR"), DynamicNodes: true, Store: store.Fenced(db, l.Epoch),
			Now: clk.now, Heartbeat: time.Second, HeartbeatTimeout: 10 * time.Second, KillTimeout: 5 * time.Second,
			TokenKey: testTokenKey, AuditSigner: signer, Leader: &Leadership{Holder: l.Holder, Address: l.Address, Epoch: l.Epoch}})
	}
	campaign := func(holder, addr string, ttl time.Duration) store.Lease {
		t.Helper()
		l, err := db.Campaign(ctx, holder, addr, ttl)
		if err != nil || l.Holder != holder {
			t.Fatalf("%s's campaign: %+v %v", holder, l, err)
		}
		return l
	}
	l1 := campaign("r1 (instance a1)", "https://10.0.0.1:9443", 300*time.Millisecond)
	time.Sleep(400 * time.Millisecond) // r1's lease expires before its server is built
	l2 := campaign("r2 (instance b2)", "https://10.0.0.2:9443", 300*time.Millisecond)
	if s, err := start(l1); err == nil {
		s.Retire()
		t.Fatal("r1, deposed, built a server under a lease taken since")
	}
	s2, err := start(l2)
	if err != nil {
		t.Fatal(err)
	}
	s2.Retire()
	time.Sleep(400 * time.Millisecond)
	l3 := campaign("r1 (instance a1)", "https://10.0.0.1:9443", time.Minute)
	s3, err := start(l3)
	if err != nil {
		t.Fatal(err)
	}
	e := envOf(t, s3, t.TempDir(), clk)
	evs := e.leaderEvents()
	if len(evs) != 2 || !strings.HasSuffix(evs[0].Message, "; the first leader recorded") || !strings.HasPrefix(evs[0].Message, "r2 ") ||
		!strings.HasSuffix(evs[1].Message, "; r2 (instance b2) led before it, at epoch "+strconv.FormatInt(l2.Epoch, 10)) {
		t.Fatalf("leader events: %+v", evs)
	}
	code, ck := e.get("/v1/audit/checkpoint")
	if code != 200 {
		t.Fatalf("checkpoint: %d %s", code, ck)
	}
	code, export := e.get("/v1/audit/export")
	if code != 200 {
		t.Fatalf("export: %d", code)
	}
	if _, err := audit.Verify(bytes.NewReader(export), verifier, ck); err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, ev := range evs {
		b, _ := json.Marshal(ev.Message)
		want := fmt.Sprintf(`"kind":"api","actor":"server:lease","tenant":"","job":"","node":"","action":"leader","detail":%s}`, b)
		if !bytes.Contains(export, []byte(want)) {
			t.Errorf("the audit export lacks %s", want)
		}
	}
}

// A new leader's event comes before every event its start writes: the
// facility changes its own facility file makes (replicas may differ in
// theirs), so that the log between two leader events is one leader's.
func TestLeaderEventComesFirst(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	fac := func(preemption bool) *model.Facility {
		f := DevFacility("local", "FR")
		f.Policy.Preemption = preemption
		return f
	}
	lead := func(l *Leadership) func(*Config) { return func(c *Config) { c.Leader = l } }
	e := openEnv(t, dir, fac(true), true, clk, lead(&Leadership{Holder: "r1 (instance a1)", Epoch: 3}))
	e.s.store.Close()
	e = openEnv(t, dir, fac(false), true, clk, lead(&Leadership{Holder: "r2 (instance b2)", Epoch: 4}))
	var evs api.EventList
	if code := e.do("GET", "/v1/events", nil, &evs); code != 200 {
		t.Fatalf("events: %d", code)
	}
	leader, facility := -1, -1
	for i, ev := range evs.Events {
		switch {
		case ev.Type == api.EventLeader && strings.HasPrefix(ev.Message, "r2 "):
			leader = i
		case ev.Type == api.EventFacility && facility < 0:
			facility = i
		}
	}
	if leader < 0 || facility < 0 || facility < leader {
		t.Errorf("r2's leader event at %d, the facility change its start recorded at %d; want the leader's first: %+v", leader, facility, evs.Events)
	}
}

// A leader record that cannot be read (edited in the database) is taken
// for none, as the other records a start compares itself with are: the
// new leader starts and records itself afresh (it used not to start).
func TestUnreadableLeaderRecordIsRecordedAfresh(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	fac := DevFacility("local", "FR")
	lead := func(l *Leadership) func(*Config) { return func(c *Config) { c.Leader = l } }
	e := openEnv(t, dir, fac, true, clk, lead(&Leadership{Holder: "r1 (instance a1)", Epoch: 3}))
	if err := e.s.store.PutRecords(context.Background(), []store.Record{{Kind: recLeader, Key: leaderKey, Doc: []byte(`{"epoch":"three"}`)}}, nil); err != nil {
		t.Fatal(err)
	}
	e.s.store.Close()
	e = openEnv(t, dir, fac, true, clk, lead(&Leadership{Holder: "r2 (instance b2)", Epoch: 4}))
	evs := e.leaderEvents()
	if len(evs) != 2 || evs[1].Message != "r2 (instance b2) leads the control plane at epoch 4; the first leader recorded" {
		t.Fatalf("leader events: %+v", evs)
	}
}
