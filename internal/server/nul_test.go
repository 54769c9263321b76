package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/postgres"
)

// pgDevEnv is devEnv on a PostgreSQL store (a schema of its own on
// $CARNOT_TEST_POSTGRES, dropped at the end); skipped without it.
func pgDevEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgSchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	s, err := New(ctx, Config{Facility: DevFacility("local", "FR"), DynamicNodes: true, Store: db, Now: clk.now,
		Heartbeat: time.Second, HeartbeatTimeout: 10 * time.Second, KillTimeout: 5 * time.Second, TokenKey: testTokenKey})
	if err != nil {
		t.Fatal(err)
	}
	e := envOf(t, s, t.TempDir(), clk)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register: %d", code)
	}
	return e
}

// pgSchemaURL is the URL of a new schema on $CARNOT_TEST_POSTGRES,
// dropped when t ends; it skips t without one.
func pgSchemaURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CARNOT_TEST_POSTGRES")
	if base == "" {
		t.Skip("CARNOT_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	b := make([]byte, 8)
	rand.Read(b)
	schema := "server_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); conn.Close(ctx) })
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// PostgreSQL refuses the NUL character in text and JSONB: a request
// carrying one is refused with 400 naming the field, on every store
// alike, and text an agent reports is kept with the NUL escaped, so that
// no commit fails and the server never reloads for it.
func TestNULCharacterNeverReachesTheStore(t *testing.T) {
	for _, st := range []struct {
		name string
		env  func(*testing.T) *env
	}{{"sqlite", devEnv}, {"postgres", pgDevEnv}} {
		t.Run(st.name, func(t *testing.T) {
			e := st.env(t)
			var p api.Problem
			for _, c := range []struct {
				path  string
				body  map[string]any
				field string
			}{
				{"/v1/jobs", spec(1, 1, "env", map[string]string{"LR": "3e-4\x00"}), "env.LR"},
				{"/v1/jobs", spec(1, 1, "id", "a\x00b"), "id"},
				{"/v1/jobs", spec(1, 1, "priority_class", "low\x00"), "priority_class"},
				{"/v1/jobs", spec(1, 1, "data_class", "x\x00"), "data_class"},
				{"/v1/jobs", spec(1, 1, "gpu_model", "H100\x00"), "gpu_model"},
				{"/v1/jobs", spec(1, 1, "jurisdictions", []string{"EU\x00"}), "jurisdictions[0]"},
				{"/v1/jobs", spec(1, 1, "workdir", "/a\x00"), "workdir"},
				{"/v1/jobs", spec(1, 1, "command", []string{"train", "--x\x00"}), "command[1]"},
				{"/v1/deployments", spec(1, 1, "command", []string{"serve\x00"}), "command[0]"},
			} {
				p = api.Problem{}
				code := e.do("POST", c.path, c.body, &p)
				if code != http.StatusBadRequest || len(p.Errors) == 0 || p.Errors[0].Field != c.field {
					t.Errorf("POST %s with a NUL in %s: %d %+v; want 400 naming %s", c.path, c.field, code, p, c.field)
				}
			}

			if code := e.do("POST", "/v1/tokens", api.TokenRequest{Name: "t", Role: "operator\x00"}, &p); code != http.StatusBadRequest || len(p.Errors) == 0 || p.Errors[0].Field != "role" {
				t.Errorf("POST /v1/tokens with a NUL in role: %d %+v; want 400 naming role", code, p)
			}
			var reg api.Register
			reg.Name, reg.Site, reg.Version = "n2", "local", "v1\x00"
			if code := e.do("POST", "/v1/agent/register", reg, &p); code != http.StatusBadRequest || len(p.Errors) == 0 || p.Errors[0].Field != "version" {
				t.Errorf("registration with a NUL in version: %d %+v; want 400 naming version", code, p)
			}

			e = st.env(t) // none of the above holds GPUs
			victim := e.submit(spec(8, 1, "priority_class", "low", "checkpoint_grace", "60s"))
			e.pass()
			e.report("n1", running(victim, 0, 1))
			e.submit(spec(8, 1, "priority_class", "high"))
			e.pass()
			if v := e.job(victim); v.State != api.StatePreempting {
				t.Fatalf("victim %s, want preempting", v.State)
			}
			p = api.Problem{}
			code := e.do("POST", "/v1/jobs/"+victim+"/checkpoint", api.CheckpointAck{Message: "saved\x00"}, &p)
			if code != http.StatusBadRequest || len(p.Errors) == 0 || p.Errors[0].Field != "message" {
				t.Errorf("checkpoint acknowledged with a NUL: %d %+v; want 400 naming message", code, p)
			}
			failed := exited(victim, 0, 1, 1)
			failed.Error = "wait: bad\x00byte"
			if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{Tasks: []api.TaskStatus{failed}}, nil); code != http.StatusOK {
				t.Errorf("heartbeat reporting an error with a NUL: %d; want 200", code)
			}
			e.s.mu.Lock()
			err := e.s.failed
			e.s.mu.Unlock()
			if err != nil {
				t.Fatalf("the server failed a commit: %v", err)
			}
			got := e.job(victim)
			if len(got.Replicas) == 0 || got.Replicas[0].Error != `wait: bad\x00byte` {
				t.Errorf("replica %+v; want its error kept, the NUL escaped as \\x00", got.Replicas)
			}
			if strings.Contains(e.raw("GET", "/v1/events?limit=1000", nil).Body.String(), `\u0000`) {
				t.Errorf("an event holds a NUL")
			}
		})
	}
}

// A path or query holding what PostgreSQL refuses in text (NUL, bytes
// that are not UTF-8) names nothing, on every store alike: 404, 400 for
// a filter naming what does not exist, or an empty list, not a 503 as
// if the store were down.
func TestUnstorableLookupsAnswerAsMissing(t *testing.T) {
	for _, st := range []struct {
		name string
		env  func(*testing.T) *env
	}{{"sqlite", devEnv}, {"postgres", pgDevEnv}} {
		t.Run(st.name, func(t *testing.T) {
			e := st.env(t)
			for _, bad := range []string{"%00", "%FF"} {
				for path, want := range map[string]int{
					"/v1/jobs/j" + bad:                 http.StatusNotFound,
					"/v1/jobs/j" + bad + "/events":     http.StatusNotFound,
					"/v1/jobs?tenant=a" + bad:          http.StatusBadRequest, // no such tenant
					"/v1/jobs?priority_class=a" + bad:  http.StatusBadRequest, // no such class
					"/v1/secrets?tenant=default" + bad: http.StatusBadRequest,
					"/v1/deployments/d" + bad:          http.StatusNotFound,
				} {
					if w := e.raw("GET", path, nil); w.Code != want {
						t.Errorf("GET %s: %d %s; want %d", path, w.Code, w.Body.String(), want)
					}
				}
			}
		})
	}
}

// A write the store refused before reaching the database (ErrExists,
// ErrNUL) saved nothing: watchers' streams need not be cut for it.
func TestRefusedWritesWereNotSaved(t *testing.T) {
	ctx := context.Background()
	for _, err := range []error{store.ErrExists, fmt.Errorf("create job: %w", store.ErrNUL)} {
		if maybeSaved(ctx, err) {
			t.Errorf("maybeSaved(%v) = true; want false", err)
		}
	}
	if !maybeSaved(ctx, errors.New("connection reset")) {
		t.Errorf("maybeSaved(connection reset) = false; want true")
	}
}
