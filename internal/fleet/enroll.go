package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/pki"
)

// ErrNoJoinToken means a node has no valid certificate and the fleet was
// given no join token to enroll it with.
var ErrNoJoinToken = errors.New("no join token")

// enroller gives the fleet's nodes their certificates, as the single
// agent does: the one in DataDir/<node>/ when it is valid for at least a
// third of its life, else a new one from the server for the join token.
type enroller struct {
	cfg   *Config
	roots *x509.CertPool

	once sync.Once
	cl   *client.Client // with the join token, made at the first enrollment
	err  error

	mu     sync.Mutex
	caPEM  []byte // the CA the server answered with, saved in DataDir once
	caSave bool
}

// certificate is node's certificate and its site: the one in its
// directory, renewed with itself when it holds for less than a third of
// its life (a join token enrolls a name once), else one for the join
// token.
func (e *enroller) certificate(ctx context.Context, node string) (tls.Certificate, string, error) {
	dir := filepath.Join(e.cfg.DataDir, node)
	cert, err := pki.LoadNode(dir)
	var renewErr error
	switch {
	case err == nil:
		site, name, ierr := pki.NodeIdentity(cert.Leaf)
		life := cert.Leaf.NotAfter.Sub(cert.Leaf.NotBefore)
		fresh := ierr == nil && name == node && !pki.ExpiresWithin(cert.Leaf, time.Now(), life/3)
		refused := fresh && e.cfg.JoinToken != "" && e.refused(ctx, node, cert)
		if fresh && !refused {
			return cert, site, nil
		}
		if refused || !pki.Renewable(cert.Leaf, node, time.Now()) {
			// Revoked (carnot revoke-node), or replaced by an
			// enrollment: it cannot renew itself, and the join token
			// enrolls it again once an operator allowed it.
			break
		}
		cl, err := client.New(e.cfg.Server, client.WithTLS(pki.ClientConfig(e.roots, &cert)), client.WithUserAgent(userAgent(e.cfg.Version)))
		if err != nil {
			return tls.Certificate{}, "", err
		}
		renewed, site, err := e.request(ctx, cl, dir, node)
		if err == nil || e.cfg.JoinToken == "" {
			return renewed, site, err
		}
		renewErr = err // a new CA, say: the join token may still enroll it
	case !errors.Is(err, fs.ErrNotExist):
		return tls.Certificate{}, "", err
	}
	if e.cfg.JoinToken == "" {
		return tls.Certificate{}, "", fmt.Errorf("node %s has no valid certificate in %s: %w (an operator makes one with: carnot token create --role join --site SITE)",
			node, dir, ErrNoJoinToken)
	}
	e.once.Do(func() {
		e.cl, e.err = client.New(e.cfg.Server, client.WithTLS(pki.ClientConfig(e.roots, nil)),
			client.WithToken(e.cfg.JoinToken), client.WithUserAgent(userAgent(e.cfg.Version)))
	})
	if e.err != nil {
		return tls.Certificate{}, "", e.err
	}
	cert, site, err := e.request(ctx, e.cl, dir, node)
	if err != nil && renewErr != nil {
		err = fmt.Errorf("%w (renewing its certificate first: %v)", err, renewErr)
	}
	return cert, site, err
}

// refused reports whether the server refuses node's certificate cert
// (401), though valid: revoked, or replaced by an enrollment. It asks on
// an agent's route, as the single agent does when it is given a join
// token, which a standby answers 503 (the client moves on to the
// leader); a server that cannot say does not refuse it: the node starts
// with it, as without a join token.
func (e *enroller) refused(ctx context.Context, node string, cert tls.Certificate) bool {
	cl, err := client.New(e.cfg.Server, client.WithTLS(pki.ClientConfig(e.roots, &cert)), client.WithUserAgent(userAgent(e.cfg.Version)))
	if err != nil {
		return false
	}
	_, err = cl.Assignments(ctx, node, 0, 0) // 404 for a node not registered yet: taken
	var p *api.Problem
	return errors.As(err, &p) && p.Status == http.StatusUnauthorized
}

// reenroller is Config.Reenroll of node's agent, of site, which
// presents the certificate held through cl: it enrolls the node again
// with the join token, as at the fleet's start (certificate), once the
// server refuses the certificate it holds (revoked).
func (e *enroller) reenroller(node, site string, held *pki.NodeCert, cl *client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		cert, got, err := e.certificate(ctx, node)
		if err != nil {
			return err
		}
		if got != site {
			return fmt.Errorf("the server enrolled node %s in site %s, not the fleet's %s", node, got, site)
		}
		held.Set(cert)
		cl.Reconnect() // its connections present the revoked certificate
		return nil
	}
}

// renewer renews the certificate held of node while it runs, with that
// certificate, trusting the server with roots; it saves the new one in
// its directory.
func (e *enroller) renewer(node string, held *pki.NodeCert, roots *x509.CertPool) *pki.Renewer {
	dir := filepath.Join(e.cfg.DataDir, node)
	return &pki.Renewer{Node: node, Cert: held, Log: slog.New(quiet{e.cfg.Logger.Handler()}),
		Renew: func(ctx context.Context, cur tls.Certificate) (tls.Certificate, error) {
			cl, err := client.New(e.cfg.Server, client.WithTLS(pki.ClientConfig(roots, &cur)), client.WithUserAgent(userAgent(e.cfg.Version)))
			if err != nil {
				return tls.Certificate{}, err
			}
			cert, _, err := e.request(ctx, cl, dir, node)
			return cert, err
		}}
}

// request asks the server cl talks to (with the join token or the
// node's certificate) for a certificate of node for a new key, and saves
// both in dir. It returns the certificate and the node's site.
func (e *enroller) request(ctx context.Context, cl *client.Client, dir, node string) (tls.Certificate, string, error) {
	key, err := pki.NewNodeKey()
	if err != nil {
		return tls.Certificate{}, "", err
	}
	csr, err := pki.NodeCSR(key, node)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	got, err := cl.Enroll(ctx, api.Enroll{Node: node, CSR: string(csr)})
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("enrolling node %s: %w", node, err)
	}
	if err := pki.SaveNode(dir, key, []byte(got.Certificate)); err != nil {
		return tls.Certificate{}, "", err
	}
	if err := e.saveCA([]byte(got.CA)); err != nil {
		return tls.Certificate{}, "", err
	}
	cert, err := pki.LoadNode(dir)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	site, name, err := pki.NodeIdentity(cert.Leaf)
	if err != nil || name != node {
		return tls.Certificate{}, "", fmt.Errorf("the server's certificate names node %q, not %q", name, node)
	}
	return cert, site, nil
}

// saveCA writes the CA the server answered an enrollment with to
// DataDir/ca.crt, once, so that a restarted fleet trusts the server
// without --ca.
func (e *enroller) saveCA(pem []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.caSave {
		return nil
	}
	e.caSave, e.caPEM = true, pem
	return os.WriteFile(filepath.Join(e.cfg.DataDir, pki.CACertFile), pem, 0o644)
}

// serverRoots are the CAs to trust the server with after enrollment:
// Config.Roots, else DataDir/ca.crt (saved at enrollment), else the
// system's.
func (e *enroller) serverRoots() (*x509.CertPool, error) {
	if e.roots != nil {
		return e.roots, nil
	}
	e.mu.Lock()
	pem := e.caPEM
	e.mu.Unlock()
	if pem != nil {
		p := x509.NewCertPool()
		if !p.AppendCertsFromPEM(pem) {
			return nil, errors.New("the server's CA certificate from the enrollment is not PEM")
		}
		return p, nil
	}
	return nil, nil
}

// fleetRoots are the CAs to trust the server with before any enrollment:
// Config.Roots, else DataDir/ca.crt when present, else nil (the system's).
func fleetRoots(cfg *Config) (*x509.CertPool, error) {
	if cfg.Roots != nil {
		return cfg.Roots, nil
	}
	p := filepath.Join(cfg.DataDir, pki.CACertFile)
	if _, err := os.Stat(p); err == nil {
		return pki.LoadPool(p)
	}
	return nil, nil
}

func userAgent(version string) string {
	if version == "" {
		return "carnot-fleet"
	}
	return "carnot-fleet/" + version
}
