package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// NodeServerConfig is the TLS configuration for reaching the server a
// node runs (the agent's log server): the peer must present a
// certificate of the CA in roots whose identity is exactly node in site.
// Host names play no part (a node certificate names no host), so an
// address that moved to another machine, or a node presenting another
// node's certificate, is refused.
func NodeServerConfig(roots *x509.CertPool, site, node string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The chain and identity are verified below, in place of the
		// host name check.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("pki: the node presented no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			leaf := cs.PeerCertificates[0]
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return fmt.Errorf("pki: node %s's certificate: %w", node, err)
			}
			s, n, err := NodeIdentity(leaf)
			if err != nil {
				return err
			}
			if s != site || n != node {
				return fmt.Errorf("pki: the peer is node %s of site %s, not node %s of site %s", n, s, node, site)
			}
			return nil
		},
	}
}
