package pki

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"
)

// A renewer waits until less than a third of the certificate's life is
// left (less a jitter of up to a tenth of it); when the server fails,
// it retries after a back-off that doubles, with jitter, presenting the
// old certificate meanwhile; the renewed certificate is presented from
// the next handshake on.
func TestRenewerWaitsRetriesAndSwaps(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	ca := testCA(t, now)
	old := enroll(t, ca, "par1", "n1", 90*24*time.Hour)
	life := old.Leaf.NotAfter.Sub(old.Leaf.NotBefore)
	renewed := enroll(t, ca, "par1", "n1", 90*24*time.Hour)
	held := NewNodeCert(old)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waits []time.Duration
	calls := 0
	r := &Renewer{Node: "n1", Cert: held, Log: slog.New(slog.DiscardHandler), Rand: rand.New(rand.NewPCG(1, 2)),
		Now: func() time.Time { return now },
		After: func(d time.Duration) <-chan time.Time {
			waits = append(waits, d)
			now = now.Add(d)
			c := make(chan time.Time, 1)
			c <- now
			return c
		},
		Renew: func(_ context.Context, cur tls.Certificate) (tls.Certificate, error) {
			calls++
			if cur.Leaf != old.Leaf || held.Get().Leaf != old.Leaf {
				t.Errorf("renewal %d: the certificate held is not the old one", calls)
			}
			if calls <= 2 {
				return tls.Certificate{}, errors.New("connection refused")
			}
			return renewed, nil
		},
		Renewed: func(tls.Certificate) { cancel() },
	}
	r.Run(ctx)
	if calls != 3 || len(waits) != 4 {
		t.Fatalf("%d renewals after %d waits (%v); want 3, and a wait for the next", calls, len(waits), waits)
	}
	due := old.Leaf.NotAfter.Add(-life / 3).Sub(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	if waits[0] > due || waits[0] < due-life/10 {
		t.Errorf("first renewal after %s; want at most %s (a third of the life left), less a tenth of the life at most", waits[0], due)
	}
	for i, want := range []time.Duration{retryMin, 2 * retryMin} {
		if d := waits[i+1]; d < want/2 || d > want {
			t.Errorf("retry %d after %s; want between %s and %s", i+1, d, want/2, want)
		}
	}
	if held.Get().Leaf != renewed.Leaf {
		t.Errorf("after the renewal the certificate held is not the new one")
	}
	got, err := held.ClientConfig(nil).GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil || got.Leaf != renewed.Leaf {
		t.Errorf("a new connection presents %v (%v); want the renewed certificate", got, err)
	}
	if got, err := held.ServerConfig().GetCertificate(&tls.ClientHelloInfo{}); err != nil || got.Leaf != renewed.Leaf {
		t.Errorf("the node's server presents %v (%v); want the renewed certificate", got, err)
	}
}

// Retries never wait past a quarter of what is left of the certificate,
// so that the last ones come before it expires.
func TestRenewalRetriesBeforeExpiry(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		n    int
		left time.Duration
		max  time.Duration
	}{
		{1, 90 * 24 * time.Hour, retryMin},
		{10, 90 * 24 * time.Hour, retryMax},
		{100, 90 * 24 * time.Hour, retryMax},
		{10, 8 * time.Minute, 2 * time.Minute},
		{10, time.Second, time.Second},
		{10, -time.Hour, retryMax}, // expired: no hurry
	} {
		if d := retryAfter(tc.n, tc.left, rng); d < tc.max/2 || d > tc.max {
			t.Errorf("retry %d with %s left: after %s; want between %s and %s", tc.n, tc.left, d, tc.max/2, tc.max)
		}
	}
}
