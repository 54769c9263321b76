package agent

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// recertServer is fakeServer, where a renewal of the node's certificate
// comes while a call is out with the previous one, which the server then
// refuses (401): the node used the new one meanwhile.
type recertServer struct {
	*fakeServer
	mu    sync.Mutex
	agent *Agent
	// renewInBeat: the next heartbeat renews the certificate and is
	// refused; polls counts the Assignments calls.
	renewInBeat bool
	refused     int
	polls       int
}

func (s *recertServer) Heartbeat(ctx context.Context, node string, hb api.Heartbeat) (api.HeartbeatReply, error) {
	s.mu.Lock()
	renew, a := s.renewInBeat, s.agent
	s.renewInBeat = false
	if renew {
		s.refused++
	}
	s.mu.Unlock()
	if renew {
		a.CertificateRenewed()
		return api.HeartbeatReply{}, &api.Problem{Status: http.StatusUnauthorized, Detail: "node n1's certificate was renewed, and the new one is in use"}
	}
	return s.fakeServer.Heartbeat(ctx, node, hb)
}

func (s *recertServer) Assignments(ctx context.Context, node string, after int64, wait time.Duration) (api.Assignments, error) {
	s.mu.Lock()
	s.polls++
	s.mu.Unlock()
	return s.fakeServer.Assignments(ctx, node, after, wait)
}

func (s *recertServer) count() (refused, polls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused, s.polls
}

// startRecert runs an agent against a recertServer, logging at WARN
// and above to the buffer returned.
func startRecert(t *testing.T) (*Agent, *recertServer, *syncBuffer) {
	t.Helper()
	srv := &recertServer{fakeServer: newFakeServer()}
	logs := &syncBuffer{}
	a := startAgent(t, srv, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	srv.mu.Lock()
	srv.agent = a
	srv.mu.Unlock()
	eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) > 0 }, "a heartbeat")
	return a, srv, logs
}

// A renewal of the node's certificate cuts the long poll out with the
// previous one short and makes it again at once, with the new one: the
// server refuses the previous certificate once the new one is used, and
// a poll it wakes would be refused (401) and taken for an outage.
func TestRenewalMakesThePollAgain(t *testing.T) {
	a, srv, logs := startRecert(t)
	eventually(t, 5*time.Second, func() bool { _, n := srv.count(); return n > 0 }, "a long poll")
	time.Sleep(100 * time.Millisecond) // the poll waits
	_, before := srv.count()
	a.CertificateRenewed()
	eventually(t, 2*time.Second, func() bool { _, n := srv.count(); return n > before }, "a poll made again after the renewal (the one out waits 30s)")
	if out := logs.String(); out != "" {
		t.Errorf("the agent logged at WARN or above:\n%s", out)
	}
}

// A heartbeat sent with the previous certificate and refused (401)
// because the node's renewed certificate was used meanwhile is sent again
// with the new one: it is not taken for an outage (no warning) nor for a
// refusal of the node (the log server keeps its token).
func TestHeartbeatRefusedForTheRenewedCertificateIsSentAgain(t *testing.T) {
	a, srv, logs := startRecert(t)
	srv.mu.Lock()
	srv.renewInBeat = true
	srv.mu.Unlock()
	eventually(t, 5*time.Second, func() bool { n, _ := srv.count(); return n > 0 }, "the heartbeat refused")
	after := len(srv.heartbeats())
	eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) > after }, "a heartbeat after the one refused")
	a.mu.Lock()
	token := a.logsToken
	a.mu.Unlock()
	if token != testLogsToken {
		t.Errorf("the logs token after a heartbeat refused for the certificate renewed meanwhile: %q; want it kept", token)
	}
	if out := logs.String(); out != "" {
		t.Errorf("the agent logged at WARN or above:\n%s", out)
	}
}

// A renewal of the node's certificate makes a heartbeat soon, with the
// new certificate: the server gives the node a new logs token once it
// uses that one, and the heartbeat's answer gives it to the log server
// at once, not a heartbeat interval later (the server's log fetches,
// with the new token, would be refused meanwhile).
func TestRenewalMakesAHeartbeatSoon(t *testing.T) {
	srv := newFakeServer()
	srv.interval = 60
	a := startAgent(t, srv)
	eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) > 0 }, "a heartbeat")
	time.Sleep(100 * time.Millisecond)
	before := len(srv.heartbeats())
	srv.set(func(s *fakeServer) { s.hbLogsToken = "renewed" })
	a.CertificateRenewed()
	eventually(t, 2*time.Second, func() bool { return len(srv.heartbeats()) > before }, "a heartbeat after the renewal (the next one is a minute away)")
	eventually(t, 2*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.logsToken == "renewed"
	}, "the logs token of the heartbeat's answer")
}
