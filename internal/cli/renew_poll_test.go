package cli

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/pki"
)

// A running agent that renewed its certificate does not have its long
// poll, out with the previous certificate, refused: the server refuses
// that certificate from the first request with the new one (a
// heartbeat), and wakes the polls, which check their certificate again.
// The agent makes its poll again with the new certificate at its
// renewal, and retries one refused for the previous certificate at
// once, quietly: no 401 in its log, no warning that it cannot fetch
// assignments. The previous certificate is refused from then on.
func TestRenewedAgentsPollIsNotRefused(t *testing.T) {
	const ttl = 6 * time.Second
	var mu sync.Mutex
	var calls []nodeCall
	s := startShortCertServerWith(t, ttl, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			h.ServeHTTP(sw, r)
			if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
				return
			}
			mu.Lock()
			calls = append(calls, nodeCall{time.Now(), r.TLS.PeerCertificates[0].SerialNumber.String(), sw.status})
			mu.Unlock()
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	join, err := s.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	o := &agentOpts{name: "n1", dataDir: t.TempDir(), join: join.Secret, ca: s.caFile, listen: "127.0.0.1:0", fakeGPUs: 0, gpuModel: "H100",
		keep: keepOpts{maxTasks: -1, maxAge: -1, diskPercent: -1, interval: time.Hour, logMaxMiB: -1}}
	a, devs, err := o.newAgent(ctx, s.url, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})), false)
	if err != nil {
		t.Fatal(err)
	}
	defer devs.Close()
	first, err := pki.LoadNode(o.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	old := first.Leaf.SerialNumber.String()
	deadline := first.Leaf.NotAfter
	for {
		mu.Lock()
		renewed := 0
		for _, c := range calls {
			if c.serial != old && c.status == http.StatusOK {
				renewed++
			}
		}
		mu.Unlock()
		if renewed >= 10 { // heartbeats and polls well past the first use
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("few calls with a renewed certificate by %s, the first one's expiry", deadline.Format(time.RFC3339Nano))
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	for _, c := range calls {
		if c.status == http.StatusUnauthorized {
			t.Errorf("a call of the agent at %s with certificate %s was refused (401)", c.at.Format(time.RFC3339Nano), c.serial)
		}
	}
	mu.Unlock()
	roots, err := pki.LoadPool(s.caFile)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(s.url, client.WithTLS(pki.ClientConfig(roots, &first)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WhoAmI(ctx); err == nil || !strings.Contains(err.Error(), "was renewed") {
		t.Errorf("the agent's first certificate once it uses the renewed one: %v; want 401 saying it was renewed", err)
	}
	if out := logs.String(); out != "" {
		t.Errorf("the agent logged, at WARN or above, around its renewal:\n%s", out)
	}
}
