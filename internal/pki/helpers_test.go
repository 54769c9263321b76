package pki

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// testCA is a fresh in-memory CA whose clock reads now.
func testCA(t testing.TB, now time.Time) *CA {
	t.Helper()
	ca, err := newCA(now)
	if err != nil {
		t.Fatal(err)
	}
	ca.now = func() time.Time { return now }
	return ca
}

// enroll runs the agent's half and the CA's half of an enrollment and
// returns the node's TLS certificate.
func enroll(t testing.TB, ca *CA, site, node string, ttl time.Duration) tls.Certificate {
	t.Helper()
	key, err := NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := NodeCSR(key, node)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignNode(csr, site, node, ttl)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

// serverCert is a loopback server certificate from ca.
func serverCert(t testing.TB, ca *CA) tls.Certificate {
	t.Helper()
	c, err := ca.IssueServer([]string{"localhost", "127.0.0.1", "::1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// result is what each side of one handshake saw.
type result struct {
	serverErr, clientErr error
	state                tls.ConnectionState // the server's view
}

// handshake runs one TLS connection over loopback: the server completes
// its handshake and writes "ok"; the client reads it. In TLS 1.3 a client
// learns that the server refused its certificate only on that read.
func handshake(t *testing.T, scfg, ccfg *tls.Config) result {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() { done <- r }()
		c, err := ln.Accept()
		if err != nil {
			r.serverErr = err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Server(c, scfg)
		if r.serverErr = tc.Handshake(); r.serverErr == nil {
			r.state = tc.ConnectionState()
			_, r.serverErr = tc.Write([]byte("ok"))
		}
	}()
	var clientErr error
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(dialer, "tcp", ln.Addr().String(), ccfg)
	if err == nil {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 2)
		if _, err = io.ReadFull(c, buf); err == nil && string(buf) != "ok" {
			err = errors.New("unexpected reply " + string(buf))
		}
		c.Close()
	}
	clientErr = err
	r := <-done
	r.clientErr = clientErr
	return r
}
