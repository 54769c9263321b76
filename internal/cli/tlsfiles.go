package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/secrets"
	"github.com/carnot-dc/carnot/internal/server"
	"github.com/carnot-dc/carnot/internal/store"
)

// Files of a server's data directory.
const (
	tokenKeyFile   = "token.key"   // the key of the API tokens' hashes
	secretsKeyFile = "secrets.key" // the key-encryption keys of tenant secrets
	devTokenFile   = "token"       // carnot dev's development token
	tlsDir         = "tls"         // the built-in CA (ca.crt, ca.key)
)

// loadOrCreateTokenKey reads the token key file at path, or, with
// create, makes one there (mode 0600, one key) when it does not exist.
// Without create a missing file is an error: a new key would shut out
// every token. A file group or others may access is refused, as ssh
// refuses such a private key: with the key, whoever can write the
// database can mint tokens, and anyone can compute every node's logs
// token. The file holds one key per line (64 hexadecimal digits or
// more; blank lines and # comments aside): the last is the token key,
// the others are previous keys, whose tokens still authenticate (a
// rotation: carnot token rotate-key).
func loadOrCreateTokenKey(path string, create bool) (key []byte, previous [][]byte, err error) {
	b, err := readPrivate(path)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, nil, fmt.Errorf("token key %s: no such file; a new key would stop every token made with the one the other servers use: copy that file here, or leave --token-key out to make DATA-DIR/token.key at the first start", path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		key := newTokenKey()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, err
		}
		if err := writeNew(path, hex.EncodeToString(key)+"\n", 0o600); err != nil {
			return nil, nil, fmt.Errorf("token key %s: %w", path, err)
		}
		return key, nil, nil
	}
	if err != nil {
		return nil, nil, keyFileError("token key", path, err)
	}
	keys, err := parseTokenKeys(path, b)
	if err != nil {
		return nil, nil, err
	}
	return keys[len(keys)-1], keys[:len(keys)-1], nil
}

// newTokenKey is a new random token key.
func newTokenKey() []byte {
	key := make([]byte, 32)
	rand.Read(key)
	return key
}

// parseTokenKeys reads the keys of token key file path, holding b: one
// or more, oldest first.
func parseTokenKeys(path string, b []byte) ([][]byte, error) {
	var keys [][]byte
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := hex.DecodeString(line)
		if err != nil || len(key) < 32 {
			return nil, fmt.Errorf("token key %s:%d: want a key of at least 64 hexadecimal digits (32 bytes) per line", path, i+1)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("token key %s: no key; want at least 64 hexadecimal digits (32 bytes)", path)
	}
	return keys, nil
}

// readPrivate reads file path, refusing it (naming its mode and the fix)
// when group or others may access it. Its errors do not name the file
// but in the fix: keyFileError does.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("mode %04o lets group or others read the key; run: chmod 600 %s", perm, path)
	}
	return io.ReadAll(f)
}

// othersMayRead says, for the server's --tls-key at path, that others
// (not the group: keys shared with a group such as ssl-cert are common,
// and read) may read it, with the fix; "" when they may not, or its mode
// cannot be read (reading the key says why).
func othersMayRead(path string) string {
	fi, err := os.Stat(path)
	if err != nil || runtime.GOOS == "windows" {
		return ""
	}
	if perm := fi.Mode().Perm(); perm&0o007 != 0 {
		return fmt.Sprintf("--tls-key %s: mode %04o lets every user of this machine read the server's TLS private key; run: chmod o-rwx %s (0600, or 0640 for a group of trusted services)", path, perm, path)
	}
	return ""
}

// keyFileError is err, of reading the key file at path (what: "token
// key"), saying "what PATH: why".
func keyFileError(what, path string, err error) error {
	why := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		why = pe.Err.Error()
	}
	return &wrapped{msg: fmt.Sprintf("%s %s: %s", what, path, why), err: err}
}

// loadOrCreateSecretsKey reads the secrets key file at path, or makes
// one there when it does not exist.
func loadOrCreateSecretsKey(path string) (*secrets.KeyFile, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if _, err := secrets.GenerateKeyFile(path); err != nil {
			return nil, err
		}
	}
	return secrets.LoadKeyFile(path)
}

// serverTLS is the certificate the listeners serve: the operator's
// files, or one of the built-in CA for this machine's names.
func serverTLS(o *serverOpts, ca *pki.CA) (tls.Certificate, error) {
	if o.tlsCert != "" || o.tlsKey != "" {
		if o.tlsCert == "" || o.tlsKey == "" {
			return tls.Certificate{}, usageError{errors.New("--tls-cert and --tls-key go together")}
		}
		cert, err := pki.LoadKeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		return cert, nil
	}
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		hosts = append(hosts, h)
	}
	for _, l := range []string{o.listen, o.adminListen} {
		if h, _, err := net.SplitHostPort(l); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
			hosts = append(hosts, h)
		}
	}
	hosts = append(hosts, o.tlsHosts...)
	seen := map[string]bool{}
	var uniq []string
	for _, h := range hosts {
		if !seen[h] {
			seen[h] = true
			uniq = append(uniq, h)
		}
	}
	cert, err := ca.IssueServer(uniq, 365*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, usageError{fmt.Errorf("--tls-host: %w", err)}
	}
	return cert, nil
}

// credentials are what a command needs to talk to a server: a token and
// the CA to trust.
type credentials struct {
	token string
	roots *x509.CertPool
}

// Environment variables of the CLI's credentials.
const (
	tokenEnv = "CARNOT_TOKEN"
	caEnv    = "CARNOT_CA"
)

// cliCredentials finds the CLI's credentials: the token from --token,
// $CARNOT_TOKEN or carnot dev's token file (carnot-dev/token under the
// working directory), the CA from --ca, $CARNOT_CA or carnot dev's
// (carnot-dev/tls/ca.crt); without a CA file, the system's roots.
func cliCredentials(tokenFlag, caFlag string) (credentials, error) {
	var c credentials
	c.token = strings.TrimSpace(tokenFlag)
	if c.token == "" {
		c.token = strings.TrimSpace(os.Getenv(tokenEnv))
	}
	if c.token == "" {
		if b, err := os.ReadFile(filepath.Join(devDataDir, devTokenFile)); err == nil {
			c.token = strings.TrimSpace(string(b))
		}
	}
	caFile, from := caFlag, "--ca"
	if caFile == "" {
		caFile, from = os.Getenv(caEnv), caEnv
	}
	if caFile == "" {
		if p := filepath.Join(devDataDir, tlsDir, pki.CACertFile); fileExists(p) {
			caFile, from = p, "carnot dev's CA"
		}
	}
	if caFile != "" {
		pool, err := pki.LoadPool(caFile)
		if err != nil {
			return c, caError(from, caFile, err)
		}
		c.roots = pool
	}
	return c, nil
}

// caError says which CA file, given where (from), could not be read
// and why, without repeating its name.
func caError(from, file string, err error) error {
	why := strings.TrimPrefix(err.Error(), "read CA certificates "+file+": ")
	var pe *fs.PathError
	if errors.As(err, &pe) {
		why = pe.Err.Error()
	}
	return &wrapped{msg: fmt.Sprintf("%s %s: %s; give the CA certificate that signed the server's (carnot dev's is DATA-DIR/tls/ca.crt)",
		from, file, why), err: err}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// options are the client options of c.
func (c credentials) options() []client.Option {
	opts := []client.Option{client.WithTLS(pki.ClientConfig(c.roots, nil))}
	if c.token != "" {
		opts = append(opts, client.WithToken(c.token))
	}
	return opts
}

// nodeCertificate is node's certificate in dir and its site, with ok
// set when it names node and holds for at least a third of its life more
// (else the node enrolls again).
func nodeCertificate(dir, node string) (cert tls.Certificate, site string, ok bool, err error) {
	cert, err = pki.LoadNode(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return cert, "", false, nil
	}
	if err != nil {
		return cert, "", false, err
	}
	site, name, ierr := pki.NodeIdentity(cert.Leaf)
	life := cert.Leaf.NotAfter.Sub(cert.Leaf.NotBefore)
	return cert, site, ierr == nil && name == node && !pki.ExpiresWithin(cert.Leaf, time.Now(), life/3), nil
}

// enrollNode gives the agent of node a certificate: the one in dir when
// it holds for at least a third of its life, else a new one from the
// server at addr: renewed with the one in dir while it is valid (a join
// token enrolls a name once), else in exchange for joinToken. It returns
// the certificate, the CA pool to trust the server with, and the node's
// site.
func enrollNode(ctx context.Context, addr, dir, node, joinToken, caFile string) (tls.Certificate, *x509.CertPool, string, error) {
	if caFile == "" && fileExists(filepath.Join(dir, pki.CACertFile)) {
		caFile = filepath.Join(dir, pki.CACertFile)
	}
	var roots *x509.CertPool
	if caFile != "" {
		p, err := pki.LoadPool(caFile)
		if err != nil {
			return tls.Certificate{}, nil, "", err
		}
		roots = p
	}
	cert, site, ok, err := nodeCertificate(dir, node)
	if err != nil {
		return tls.Certificate{}, nil, "", err
	}
	if ok && joinToken != "" && refusedCertificate(ctx, addr, roots, node, cert) {
		// Revoked (carnot revoke-node), or replaced by an enrollment:
		// the join token enrolls it again once an operator allowed it.
		ok = false
	}
	if ok {
		return cert, roots, site, nil
	}
	var renewErr error
	if pki.Renewable(cert.Leaf, node, time.Now()) {
		cl, err := client.New(addr, client.WithTLS(pki.ClientConfig(roots, &cert)), client.WithUserAgent("carnot-agent/"+Version), client.WithAddrEnv(adminAddrEnv))
		if err != nil {
			return tls.Certificate{}, nil, "", usageError{err}
		}
		renewed, site, err := newNodeCertificate(ctx, cl, dir, node, &roots)
		if err == nil || joinToken == "" {
			return renewed, roots, site, err
		}
		renewErr = err // a new CA, say: the join token may still enroll it
	}
	if joinToken == "" {
		what := "set $CARNOT_JOIN_TOKEN"
		if cert.Leaf != nil {
			if s, name, err := pki.NodeIdentity(cert.Leaf); err == nil && name != node {
				// another node's data directory: a mistyped --name, the default hostname
				what = fmt.Sprintf("the certificate there is node %s's, of site %s: give --name %s to run that node's agent, or, to enroll %s (its certificate replaces %s's there), set $CARNOT_JOIN_TOKEN",
					name, s, name, node, name)
			}
		}
		return tls.Certificate{}, nil, "", usageError{fmt.Errorf("node %s has no valid certificate in %s: %s (an operator makes one with: carnot token create --role join --site SITE)", node, dir, what)}
	}
	cl, err := client.New(addr, client.WithTLS(pki.ClientConfig(roots, nil)), client.WithToken(joinToken), client.WithUserAgent("carnot-agent/"+Version), client.WithAddrEnv(adminAddrEnv))
	if err != nil {
		return tls.Certificate{}, nil, "", usageError{err}
	}
	cert, site, err = newNodeCertificate(ctx, cl, dir, node, &roots)
	if err != nil && renewErr != nil {
		err = fmt.Errorf("%w (renewing its certificate first: %v)", err, renewErr)
	}
	return cert, roots, site, err
}

// refusedCertificate reports whether the server at addr refuses node's
// certificate cert (401): revoked, or replaced by an enrollment, though
// not expired. A server that cannot say (unreachable, another answer)
// does not refuse it: the agent starts with it, as without a join token.
// It asks on an agent's route, which a standby answers 503 (the client
// moves on to the leader) rather than forward it without the
// certificate.
func refusedCertificate(ctx context.Context, addr string, roots *x509.CertPool, node string, cert tls.Certificate) bool {
	cl, err := client.New(addr, client.WithTLS(pki.ClientConfig(roots, &cert)), client.WithUserAgent("carnot-agent/"+Version), client.WithAddrEnv(adminAddrEnv))
	if err != nil {
		return false
	}
	_, err = cl.Assignments(ctx, node, 0, 0) // 404 for a node not registered yet: taken
	var p *api.Problem
	return errors.As(err, &p) && p.Status == http.StatusUnauthorized
}

// renewNodeCertificate renews the certificate cur of node (of site),
// running, with cur itself at the server at addr, and saves the new one
// and its key in dir.
func renewNodeCertificate(ctx context.Context, addr, dir, node, site string, roots *x509.CertPool, cur tls.Certificate) (tls.Certificate, error) {
	cl, err := client.New(addr, client.WithTLS(pki.ClientConfig(roots, &cur)), client.WithUserAgent("carnot-agent/"+Version), client.WithAddrEnv(adminAddrEnv))
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, got, err := newNodeCertificate(ctx, cl, dir, node, &roots)
	if err == nil && got != site {
		err = fmt.Errorf("the server renewed node %s's certificate for site %s, not %s", node, got, site)
	}
	return cert, err
}

// newNodeCertificate asks the server cl talks to (with a join token or
// the node's certificate) for a certificate of node for a new key, and
// saves both and the server's CA in dir. *roots, when nil, becomes that
// CA. It returns the certificate and the node's site.
func newNodeCertificate(ctx context.Context, cl *client.Client, dir, node string, roots **x509.CertPool) (tls.Certificate, string, error) {
	key, err := pki.NewNodeKey()
	if err != nil {
		return tls.Certificate{}, "", err
	}
	csr, err := pki.NodeCSR(key, node)
	if err != nil {
		return tls.Certificate{}, "", usageError{fmt.Errorf("--name: %w", err)}
	}
	got, err := cl.Enroll(ctx, api.Enroll{Node: node, CSR: string(csr)})
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("enrolling node %s: %w", node, err)
	}
	if err := pki.SaveNode(dir, key, []byte(got.Certificate)); err != nil {
		return tls.Certificate{}, "", err
	}
	caFile := filepath.Join(dir, pki.CACertFile)
	if b, err := os.ReadFile(caFile); err != nil || !bytes.Equal(b, []byte(got.CA)) {
		if err := writeReplacing(caFile, []byte(got.CA), 0o644); err != nil {
			return tls.Certificate{}, "", err
		}
	}
	cert, err := pki.LoadNode(dir)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	site, name, err := pki.NodeIdentity(cert.Leaf)
	if err != nil || name != node {
		return tls.Certificate{}, "", fmt.Errorf("the server's certificate names node %q, not %q", name, node)
	}
	if *roots == nil {
		*roots = x509.NewCertPool()
		(*roots).AppendCertsFromPEM([]byte(got.CA))
	}
	return cert, site, nil
}

// tokenKeyMismatch says, for a replica that does not lead yet, when key
// is not the token key the store's last leader ran with: the tokens
// would all stop when this replica takes over. "" when it is, or when
// the store records none.
func tokenKeyMismatch(ctx context.Context, st store.Store, key []byte, previous ...[]byte) (string, error) {
	stored, err := server.StoredTokenKeyID(ctx, st)
	if err != nil || stored == "" {
		return "", err
	}
	for _, p := range previous {
		if id, err := server.TokenKeyIDOf(p); err == nil && id == stored {
			return "", nil // a rotation: the store's key is a previous one here
		}
	}
	mine, err := server.TokenKeyIDOf(key)
	if err != nil || mine == stored {
		return "", err
	}
	return fmt.Sprintf("this replica's token key (key ID %s) is not the one the store's tokens were made under (key ID %s): copy token.key from the other servers before it leads, or every token stops when it does", mine, stored), nil
}
