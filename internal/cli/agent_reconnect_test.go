package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/pki"
)

// nodeCall is a request of a node to the server: when, with which
// certificate, and the answer's status.
type nodeCall struct {
	at     time.Time
	serial string
	status int
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// A running agent that renewed its certificate presents the new one from
// its next calls on, over connections it keeps open: it does not go on
// with the connections made with the previous certificate until the
// server refuses that one, once expired.
func TestRenewedAgentLeavesItsOldConnections(t *testing.T) {
	const ttl = 4 * time.Second
	var mu sync.Mutex
	var beats []nodeCall
	s := startShortCertServerWith(t, ttl, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			h.ServeHTTP(sw, r)
			if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || !strings.HasSuffix(r.URL.Path, "/heartbeat") {
				return
			}
			mu.Lock()
			beats = append(beats, nodeCall{time.Now(), r.TLS.PeerCertificates[0].SerialNumber.String(), sw.status})
			mu.Unlock()
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	join, err := s.srv.MintToken(ctx, api.TokenRequest{Name: "rack", Role: string(auth.Join), Site: "local"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	o := &agentOpts{name: "n1", dataDir: t.TempDir(), join: join.Secret, ca: s.caFile, listen: "127.0.0.1:0", fakeGPUs: 0, gpuModel: "H100",
		keep: keepOpts{maxTasks: -1, maxAge: -1, diskPercent: -1, interval: time.Hour, logMaxMiB: -1}}
	a, devs, err := o.newAgent(ctx, s.url, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
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
	deadline := first.Leaf.NotAfter.Add(2 * ttl)
	for {
		mu.Lock()
		var renewed *nodeCall
		for i, b := range beats {
			if b.serial != old && b.status == http.StatusOK {
				renewed = &beats[i]
				break
			}
		}
		mu.Unlock()
		if renewed != nil {
			if !renewed.at.Before(first.Leaf.NotAfter) {
				t.Errorf("the first heartbeat with the renewed certificate came at %s, after the first certificate expired (%s): the agent kept its old connections",
					renewed.at.Format(time.RFC3339Nano), first.Leaf.NotAfter.Format(time.RFC3339Nano))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat with a renewed certificate by %s", deadline.Format(time.RFC3339Nano))
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range beats {
		if b.status == http.StatusUnauthorized {
			t.Errorf("a heartbeat at %s with certificate %s was refused (401); want none", b.at.Format(time.RFC3339Nano), b.serial)
		}
	}
}
