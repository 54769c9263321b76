package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/pki"
)

// forwardLimits bound how long a standby waits on the leader for a
// request it forwards. The body of the answer is not bounded: a watch
// stream or a followed log lasts as long as its client wants.
type forwardLimits struct {
	dial         time.Duration // to connect
	tlsHandshake time.Duration // to complete the TLS handshake
	// header is the wait for the answer's header once the request is
	// sent: below the CLI's 30 s per call, so that a client of a stalled
	// leader reads the standby's answer rather than its own time-out.
	header time.Duration
}

// defaultForwardLimits are a standby's.
var defaultForwardLimits = forwardLimits{dial: 5 * time.Second, tlsHandshake: 5 * time.Second, header: 25 * time.Second}

// leaderRoots are the certificates a standby takes the leader's
// certificate to be signed by: the built-in CA's (the replicas'
// certificates without --tls-cert) and the CAs in the chain of this
// replica's own certificate (cert, --tls-cert's: the replicas of one
// control plane have certificates of one CA), but for those that
// system, the system's CAs, trusts. Never a CA the system trusts, a
// public one: anyone who can write the lease could name a host of
// theirs with a certificate of it, and be sent the tokens of every
// request the standbys forward (the threat the https:// check on the
// lease's address is for).
func leaderRoots(ca *pki.CA, cert tls.Certificate, system *x509.CertPool) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	for _, der := range cert.Certificate[min(1, len(cert.Certificate)):] {
		c, err := x509.ParseCertificate(der)
		if err != nil || !c.IsCA {
			continue
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: system, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
			continue // the system trusts it
		}
		pool.AddCert(c)
	}
	return pool
}

// checkLeaderRoots says why the other replicas, as standbys, cannot
// take cert, this replica's, for the leader's ("" when they can): they
// check it against roots (leaderRoots), as this replica does theirs.
func checkLeaderRoots(cert tls.Certificate, roots *x509.CertPool) string {
	if len(cert.Certificate) == 0 {
		return ""
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return ""
	}
	inter := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		return fmt.Sprintf("the standbys cannot check this replica's certificate (--tls-cert) against the built-in CA or a CA in its file that the system does not trust (%v): "+
			"they will answer 503 rather than forward to it while it leads; give the replicas certificates of a private CA, put in the file after the certificate, or the built-in CA's", err)
	}
	return ""
}

// systemRoots are the system's CAs (none when it has none).
func systemRoots() *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil {
		return x509.NewCertPool()
	}
	return pool
}

// leaderKey is the context key of the *forwarding of a request.
type leaderKey struct{}

// forwarding is one request forwarded: to which leader, and how far it
// went (set by the transport's trace).
type forwarding struct {
	in        *http.Request // as the standby received it
	operator  bool          // on the operator listener
	again     bool          // the second try, to a new leader
	leader    *url.URL
	dialed    atomic.Bool // a TCP connection was made
	connected atomic.Bool // a TLS connection was made (or reused)
	sent      atomic.Bool // the request's header was written: the leader may act on it
}

// forwardVia makes r forward to the leader over TLS verified by roots,
// within lim.
func (r *replica) forwardVia(roots *x509.CertPool, lim forwardLimits) {
	tr := &http.Transport{
		TLSClientConfig:       pki.ClientConfig(roots, nil),
		DialContext:           (&net.Dialer{Timeout: lim.dial, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   lim.tlsHandshake,
		ResponseHeaderTimeout: lim.header,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
	}
	r.proxy = &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			f := pr.In.Context().Value(leaderKey{}).(*forwarding)
			pr.SetURL(f.leader)
			pr.Out.Host = f.leader.Host
			pr.Out.Header.Set(api.ForwardedHeader, r.holder)
			pr.Out = pr.Out.WithContext(httptrace.WithClientTrace(pr.Out.Context(), &httptrace.ClientTrace{
				ConnectDone: func(_, _ string, err error) {
					if err == nil {
						f.dialed.Store(true)
					}
				},
				GotConn:      func(httptrace.GotConnInfo) { f.connected.Store(true) },
				WroteHeaders: func() { f.sent.Store(true) },
			}))
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			f := req.Context().Value(leaderKey{}).(*forwarding)
			if u := r.leaderURL(f.operator); u != nil && u.String() != f.leader.String() && !f.again && readOnly(f.in) && f.in.Context().Err() == nil {
				// The leader changed while this read waited on the
				// last: the new one answers it.
				r.send(w, &forwarding{in: f.in, operator: f.operator, again: true, leader: u})
				return
			}
			if errors.Is(context.Cause(req.Context()), errLeaderChanged) {
				err = errLeaderChanged
			}
			forwardFailed(w, f, lim, err)
		},
		FlushInterval: -1, // log follows and watch streams
	}
}

// forward sends req to the leader at leader (its listener of req's) and
// relays the answer.
func (r *replica) forward(w http.ResponseWriter, req *http.Request, leader *url.URL, operator bool) {
	r.send(w, &forwarding{in: req, operator: operator, leader: leader})
}

// errLeaderChanged ends a forwarding to a leader that the lease no
// longer names.
var errLeaderChanged = errors.New("the lease names another leader")

// send forwards f.in as f says, until the lease names another leader
// (or none): the one f forwards to no longer leads, and a stream it
// relays (a watch, a followed log) ends, for its client to reconnect,
// rather than wait on a leader that may never answer again (stopped).
func (r *replica) send(w http.ResponseWriter, f *forwarding) {
	ctx, cancel := context.WithCancelCause(f.in.Context())
	defer cancel(nil)
	go func() {
		for {
			changed := r.leaderChanged()
			if u := r.leaderURL(f.operator); u == nil || u.String() != f.leader.String() {
				cancel(errLeaderChanged)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
		}
	}()
	r.proxy.ServeHTTP(w, f.in.WithContext(context.WithValue(ctx, leaderKey{}, f)))
}

// readOnly reports whether req acts on nothing, and may be sent again:
// a GET or HEAD without a body.
func readOnly(req *http.Request) bool {
	return (req.Method == http.MethodGet || req.Method == http.MethodHead) && req.ContentLength == 0
}

// forwardFailed answers a request whose forwarding f failed with err.
// A request never sent (no connection, no TLS handshake), or a read cut
// off by a change of leader that it was not sent to again, is answered
// as a standby's, 503 with api.StandbyHeader: the client may send it to
// another address. One sent may have been acted on, and is not: 504
// when the leader took it and did not answer in time (stopped, stalled,
// overloaded), 502 when the connection broke.
func forwardFailed(w http.ResponseWriter, f *forwarding, lim forwardLimits, err error) {
	leader := f.leader.String()
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout()
	switch {
	case errors.Is(err, errLeaderChanged) && !f.sent.Load():
		standby(w, leader, fmt.Sprintf("this replica is a standby: the lease named another leader than %s before the request was sent to it; the request was not sent: retry", leader))
	case errors.Is(err, errLeaderChanged) && readOnly(f.in):
		// No other leader to send it to (this replica took the lease,
		// or none holds it), but a read acted on nothing.
		standby(w, leader, fmt.Sprintf("this replica is a standby: the lease named another leader than %s while this read waited on it; a read acts on nothing: retry", leader))
	case errors.Is(err, errLeaderChanged):
		forwardProblem(w, http.StatusBadGateway, fmt.Sprintf("this replica is a standby: the leader at %s had the request and had not answered when the lease named another leader; it may have been acted on before it lost the lease: check before sending it again", leader))
	case errors.Is(err, context.Canceled):
		// the client went away: nobody reads the answer
		w.WriteHeader(http.StatusBadGateway)
	case !f.sent.Load() && !f.dialed.Load() && timeout:
		standby(w, leader, fmt.Sprintf("this replica is a standby and cannot reach the leader at %s: no connection within %s (the leader may be down or cut off); the request was not sent", leader, lim.dial))
	case !f.sent.Load() && !f.connected.Load() && timeout:
		standby(w, leader, fmt.Sprintf("this replica is a standby and cannot reach the leader at %s: it accepted the connection but did not complete the TLS handshake within %s (the leader may be stopped or overloaded); the request was not sent", leader, lim.tlsHandshake))
	case !f.sent.Load():
		standby(w, leader, fmt.Sprintf("this replica is a standby and cannot reach the leader at %s: %v; the request was not sent", leader, err))
	case timeout:
		forwardProblem(w, http.StatusGatewayTimeout, fmt.Sprintf("this replica is a standby: the leader at %s took the request and did not answer within %s (it may be stopped, stalled or losing its lease); the request may have been acted on: check before sending it again", leader, lim.header))
	default:
		forwardProblem(w, http.StatusBadGateway, fmt.Sprintf("this replica is a standby: the connection to the leader at %s broke before it answered: %v; the request may have been acted on: check before sending it again", leader, err))
	}
}

// forwardProblem answers status with an RFC 9457 problem saying detail.
func forwardProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	title := strings.ToLower(http.StatusText(status))
	fmt.Fprintf(w, `{"type":%q,"title":%q,"status":%d,"detail":%q}`, api.ProblemType+strings.ReplaceAll(title, " ", "-"), title, status, detail)
}
