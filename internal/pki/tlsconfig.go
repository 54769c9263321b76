package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// ClientAuth says what a server asks of its clients' certificates.
type ClientAuth int

const (
	// NoClientCert asks for none (the tenant API: clients use tokens).
	NoClientCert ClientAuth = iota
	// VerifyClientCertIfGiven verifies a certificate the client sends and
	// accepts a client without one: handlers that need a node must then
	// check PeerIdentity (enrollment and node routes on one listener).
	VerifyClientCertIfGiven
	// RequireClientCert refuses, in the handshake, a client without a
	// certificate the CA pool verifies (the agent API).
	RequireClientCert
)

// String names the mode as a configuration would: none, request, require.
func (m ClientAuth) String() string {
	switch m {
	case NoClientCert:
		return "none"
	case VerifyClientCertIfGiven:
		return "request"
	case RequireClientCert:
		return "require"
	}
	return fmt.Sprintf("ClientAuth(%d)", int(m))
}

// ParseClientAuth reads a mode from its String form.
func ParseClientAuth(s string) (ClientAuth, error) {
	for _, m := range []ClientAuth{NoClientCert, VerifyClientCertIfGiven, RequireClientCert} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("client certificate mode %q: want none, request or require", s)
}

// ServerConfig is a TLS 1.3 server configuration presenting cert. With a
// mode other than NoClientCert, client certificates are verified against
// clientCAs (which must not be nil: crypto/tls would use the system roots)
// and must allow ClientAuth.
func ServerConfig(cert tls.Certificate, clientCAs *x509.CertPool, mode ClientAuth) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
	}
	switch mode {
	case NoClientCert:
		cfg.ClientAuth = tls.NoClientCert
		return cfg, nil
	case VerifyClientCertIfGiven:
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case RequireClientCert:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("server TLS: unknown client certificate mode %d", int(mode))
	}
	if clientCAs == nil {
		return nil, errors.New("server TLS: client certificate mode " + mode.String() + " needs a CA pool")
	}
	cfg.ClientCAs = clientCAs
	return cfg, nil
}

// ClientConfig is a TLS 1.3 client configuration trusting roots (nil:
// the system roots, for servers with publicly issued certificates) and
// presenting cert if not nil. crypto/tls and net/http check the server's
// name; nothing here turns that off.
func ClientConfig(roots *x509.CertPool, cert *tls.Certificate) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return cfg
}

// LoadKeyPair reads an operator-provided certificate (chain) and key in
// PEM. Errors name the file at fault; an expired certificate is refused.
// Leaf is set.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read certificate %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read key %s: %w", keyFile, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load key pair %s and %s: %w", certFile, keyFile, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("read certificate %s: %w", certFile, err)
		}
	}
	if time.Now().After(pair.Leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("certificate %s expired on %s", certFile, pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return pair, nil
}

// LoadPool reads a PEM file of one or more CA certificates into a pool.
// Errors name the file, and the block at fault.
func LoadPool(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA certificates %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	n := 0
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		n++
		if block.Type != pemCert {
			return nil, fmt.Errorf("read CA certificates %s: block %d is %q, want %q", caFile, n, block.Type, pemCert)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read CA certificates %s: block %d: %w", caFile, n, err)
		}
		pool.AddCert(c)
	}
	if n == 0 {
		return nil, fmt.Errorf("read CA certificates %s: no PEM certificate found", caFile)
	}
	return pool, nil
}
