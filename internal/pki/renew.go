package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// NodeCert holds the certificate a running node presents, which its
// Renewer replaces before it expires. The TLS configurations it makes
// present the certificate held at each handshake: new connections use
// the new certificate, open ones keep the one they were made with, and
// nothing restarts.
type NodeCert struct {
	p atomic.Pointer[tls.Certificate]
}

// NewNodeCert holds cert, whose Leaf must be set (LoadNode sets it).
func NewNodeCert(cert tls.Certificate) *NodeCert {
	c := &NodeCert{}
	c.Set(cert)
	return c
}

// Get is the certificate held now.
func (c *NodeCert) Get() tls.Certificate { return *c.p.Load() }

// Set makes cert the one presented from the next handshake on.
func (c *NodeCert) Set(cert tls.Certificate) { c.p.Store(&cert) }

// ClientConfig is ClientConfig(roots, cert) for the certificate held at
// each handshake.
func (c *NodeCert) ClientConfig(roots *x509.CertPool) *tls.Config {
	cfg := ClientConfig(roots, nil)
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c.p.Load(), nil }
	return cfg
}

// ServerConfig is the TLS 1.3 configuration of the node's own server
// (the agent's log server), presenting the certificate held at each
// handshake.
func (c *NodeCert) ServerConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.p.Load(), nil }}
}

// RenewAt is when a running node renews cert: once less than a third of
// its life is left (as a start does), earlier by up to a tenth of its
// life drawn from r (nil: none), so that nodes enrolled together do not
// renew together.
func RenewAt(cert *x509.Certificate, r *rand.Rand) time.Time {
	life := cert.NotAfter.Sub(cert.NotBefore)
	at := cert.NotAfter.Add(-life / 3)
	if r != nil && life/10 > 0 {
		at = at.Add(-time.Duration(r.Int64N(int64(life / 10))))
	}
	return at
}

// Renewer renews a running node's certificate before it expires: at
// RenewAt, and after a failure (the server unreachable, or refusing)
// again with a back-off, until it succeeds. The node presents the old
// certificate until Renew returns the new one.
type Renewer struct {
	Node string
	Cert *NodeCert
	// Renew asks the server for a new certificate with the current one,
	// saves it (SaveNode: each file replaced atomically) and returns it.
	Renew func(ctx context.Context, current tls.Certificate) (tls.Certificate, error)
	Log   *slog.Logger
	// Rand draws the jitter; nil: a random source.
	Rand *rand.Rand
	// Now and After are the clock; nil: time.Now and time.After.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// Renewed, when set, is called with each new certificate.
	Renewed func(tls.Certificate)
}

// Renewal back-off: the first retry after about retryMin, doubling to
// retryMax, and never later than a quarter of what is left of the
// certificate's life.
const (
	retryMin = 30 * time.Second
	retryMax = 15 * time.Minute
)

// Run renews the certificate until ctx is done.
func (r *Renewer) Run(ctx context.Context) {
	now, after, rng := r.Now, r.After, r.Rand
	if now == nil {
		now = time.Now
	}
	if after == nil {
		after = time.After
	}
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	wait := RenewAt(r.Cert.Get().Leaf, rng).Sub(now())
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-after(max(wait, 0)):
		}
		if ctx.Err() != nil {
			return
		}
		cur := r.Cert.Get()
		next, err := r.Renew(ctx, cur)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			wait = retryAfter(failures, cur.Leaf.NotAfter.Sub(now()), rng)
			if now().Before(cur.Leaf.NotAfter) {
				r.Log.Warn("renewing the node's certificate failed; retrying", "node", r.Node, "err", err,
					"expires", cur.Leaf.NotAfter.UTC().Format(time.RFC3339), "retry_in", wait.Round(time.Millisecond))
			} else {
				r.Log.Error("the node's certificate expired: the server refuses it; an operator-admin allows a new enrollment with 'carnot reenroll-node NODE', then restart the agent with a join token of its site ($CARNOT_JOIN_TOKEN)",
					"node", r.Node, "err", err, "expired", cur.Leaf.NotAfter.UTC().Format(time.RFC3339))
			}
			continue
		}
		r.Cert.Set(next)
		failures = 0
		r.Log.Info("renewed the node's certificate", "node", r.Node, "expires", next.Leaf.NotAfter.UTC().Format(time.RFC3339))
		if r.Renewed != nil {
			r.Renewed(next)
		}
		t := now()
		wait = RenewAt(next.Leaf, rng).Sub(t)
		// A certificate whose life is so short that it is due at once
		// (its back-dated start counts in its life) renews halfway
		// through what is left, not in a loop.
		wait = max(wait, next.Leaf.NotAfter.Sub(t)/2)
	}
}

// retryAfter is the wait before the n-th retry of a renewal, left of
// the certificate's life still valid: retryMin doubling to retryMax,
// at most a quarter of left (but not under a second) while it is
// valid, drawn between half and all of it.
func retryAfter(n int, left time.Duration, rng *rand.Rand) time.Duration {
	d := retryMax
	if n < 16 {
		d = min(retryMin<<(n-1), retryMax)
	}
	if left > 0 {
		d = min(d, max(left/4, time.Second))
	}
	return d/2 + time.Duration(rng.Int64N(int64(d/2)+1))
}
