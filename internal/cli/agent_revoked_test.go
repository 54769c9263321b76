package cli

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/agent"
	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/pki"
)

// revokedAgentEnv is a real server and the agent of node n1, enrolled,
// heartbeating every 100 ms.
type revokedAgentEnv struct {
	s     *shortCertServer
	admin *client.Client
	join  string
	dir   string
	log   *syncBuffer
}

func newRevokedAgentEnv(t *testing.T, wrap func(http.Handler) http.Handler) *revokedAgentEnv {
	t.Helper()
	s := startShortCertServerWith(t, time.Hour, false, wrap)
	ctx := context.Background()
	join, err := s.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := s.srv.MintToken(ctx, api.TokenRequest{Name: "admin", Role: string(auth.OperatorAdmin)}, "test")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(s.url, client.WithTLS(pki.ClientConfig(s.ca.Pool(), nil)), client.WithToken(admin.Secret))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, _, _, err := enrollNode(ctx, s.url, dir, "n1", join.Secret, s.caFile); err != nil {
		t.Fatal(err)
	}
	return &revokedAgentEnv{s: s, admin: cl, join: join.Secret, dir: dir, log: &syncBuffer{}}
}

// start runs n1's agent, with join as its join token ("" for none),
// until the test ends; Run's error comes on the channel.
func (e *revokedAgentEnv) start(t *testing.T, join string) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	o := &agentOpts{name: "n1", dataDir: e.dir, join: join, ca: e.s.caFile, listen: "127.0.0.1:0", fakeGPUs: 0, gpuModel: "H100",
		keep: keepOpts{maxTasks: -1, maxAge: -1, diskPercent: -1, interval: time.Hour, logMaxMiB: -1}}
	a, devs, err := o.newAgent(ctx, e.s.url, slog.New(slog.NewTextHandler(e.log, nil)), false)
	if err != nil {
		t.Fatal(err)
	}
	done, stopped := make(chan error, 1), make(chan struct{})
	go func() { defer close(stopped); done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Error("the agent did not stop")
		}
		devs.Close()
	})
	return done
}

// heartbeatAfter waits until n1's last heartbeat is after since.
func (e *revokedAgentEnv) heartbeatAfter(t *testing.T, since time.Time, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		nodes, err := e.admin.ListNodes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes.Nodes {
			if n.Name == "n1" && n.LastHeartbeat.After(since) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no heartbeat of n1 since %s\nagent's log:\n%s", what, since.Format(time.RFC3339Nano), e.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An agent whose certificate an operator-admin revokes while it runs
// (carnot revoke-node), without a join token to enroll again with, says
// so once, at ERROR, in words that say what to do, and exits with
// agent.ErrRevoked (carnot agent exits non-zero). It took the 401s for
// an outage: it retried every heartbeat for ever, warning that the
// server could not be reached.
func TestAgentRevokedWhileRunningExitsSayingSo(t *testing.T) {
	e := newRevokedAgentEnv(t, nil)
	done := e.start(t, "")
	e.heartbeatAfter(t, time.Time{}, "the agent's start")
	if err := e.s.srv.RevokeNode(context.Background(), "n1", "test"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, agent.ErrRevoked) {
			t.Errorf("the agent revoked ended with %v; want agent.ErrRevoked", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the agent still runs 10 s after its certificate was revoked; want it to end\nagent's log:\n%s", e.log)
	}
	var errs []string
	for line := range strings.Lines(e.log.String()) {
		if strings.Contains(line, "level=ERROR") {
			errs = append(errs, line)
		}
		if strings.Contains(line, "heartbeat failed") {
			t.Errorf("the agent took the revocation for an outage: %s", line)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "node certificate revoked by the control plane; re-enroll with a join token") {
		t.Errorf("the agent's ERROR lines: %q; want one saying the certificate was revoked and to re-enroll with a join token", errs)
	}
}

// An agent given a join token whose certificate an operator-admin
// revokes while it runs enrolls again with the token, as at its start,
// once an operator-admin allowed it (carnot reenroll-node), and reports
// on with its new certificate, without a restart.
func TestAgentRevokedWhileRunningEnrollsAgainWithItsJoinToken(t *testing.T) {
	// The agent's enrollments with the join token wait, once gated,
	// until the operator allowed the node again: whenever the agent
	// tries first, its first try passes.
	var gated atomic.Bool
	allowed := make(chan struct{})
	e := newRevokedAgentEnv(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if gated.Load() && r.URL.Path == "/v1/agent/enroll" && r.Header.Get("Authorization") != "" {
				select {
				case <-allowed:
				case <-r.Context().Done():
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	first, err := pki.LoadNode(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	done := e.start(t, e.join)
	e.heartbeatAfter(t, time.Time{}, "the agent's start")
	gated.Store(true)
	ctx := context.Background()
	revokedAt := time.Now()
	if err := e.s.srv.RevokeNode(ctx, "n1", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.srv.AllowReenroll(ctx, "n1", "test", time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	close(allowed)
	e.heartbeatAfter(t, revokedAt.Add(500*time.Millisecond), "the agent revoked, then allowed to enroll again")
	select {
	case err := <-done:
		t.Fatalf("the agent ended: %v; want it running", err)
	default:
	}
	cert, err := pki.LoadNode(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Error("the agent heartbeats again with its revoked certificate in its data directory; want a new one")
	}
	if !strings.Contains(e.log.String(), "re-enrolling with the join token") {
		t.Errorf("the agent's log does not say it re-enrolls:\n%s", e.log)
	}
}
