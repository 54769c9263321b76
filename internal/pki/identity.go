package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
)

// Node identity URIs: carnot://node/<site>/<node>.
const (
	uriScheme = "carnot"
	uriHost   = "node"
	maxName   = 128 // as the server's node names; facility IDs stop at 63
)

// CheckName reports whether s is a valid site or node name: a letter or
// digit, then up to 127 letters, digits, '.', '_' or '-' (ASCII only; the
// facility schema's identifiers and the server's node names). Names are
// case-sensitive. The error wraps ErrInvalidName.
func CheckName(s string) error {
	if len(s) == 0 || len(s) > maxName {
		return fmt.Errorf("%w %q: want 1 to %d characters", ErrInvalidName, s, maxName)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if alnum || i > 0 && (c == '.' || c == '_' || c == '-') {
			continue
		}
		return fmt.Errorf("%w %q: want a letter or digit, then letters, digits, '.', '_' or '-'", ErrInvalidName, s)
	}
	return nil
}

// NodeURI is the identity URI the CA writes into a node certificate,
// carnot://node/<site>/<node>. Both names must pass CheckName.
func NodeURI(site, node string) (*url.URL, error) {
	if err := CheckName(site); err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	if err := CheckName(node); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return &url.URL{Scheme: uriScheme, Host: uriHost, Path: "/" + site + "/" + node}, nil
}

// NodeIdentity reads the site and node from a node certificate. The
// certificate must carry exactly one URI SAN with the carnot scheme, and
// it must be exactly carnot://node/<site>/<node> with valid names: no
// user, port, query, fragment or escapes. URIs of other schemes are
// ignored. The error wraps ErrNoIdentity.
//
// NodeIdentity does not verify the certificate: call it on a certificate
// that crypto/tls verified (see PeerIdentity) or that the CA just signed.
func NodeIdentity(cert *x509.Certificate) (site, node string, err error) {
	if cert == nil {
		return "", "", fmt.Errorf("%w: no certificate", ErrNoIdentity)
	}
	var found *url.URL
	for _, u := range cert.URIs {
		if u == nil || !strings.EqualFold(u.Scheme, uriScheme) {
			continue
		}
		if found != nil {
			return "", "", fmt.Errorf("%w: more than one %s URI (%s, %s)", ErrNoIdentity, uriScheme, found, u)
		}
		found = u
	}
	if found == nil {
		return "", "", fmt.Errorf("%w: no %s://%s/<site>/<node> URI", ErrNoIdentity, uriScheme, uriHost)
	}
	return parseNodeURI(found)
}

// parseNodeURI accepts only the canonical form NodeURI writes.
func parseNodeURI(u *url.URL) (site, node string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("%w: %q: %s", ErrNoIdentity, u.String(), why)
	}
	if u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || u.RawFragment != "" || u.RawPath != "" || u.OmitHost {
		return bad("want carnot://node/<site>/<node> and nothing else")
	}
	if u.Host != uriHost {
		return bad("want host " + uriHost)
	}
	parts := strings.Split(u.Path, "/")
	if len(parts) != 3 || parts[0] != "" {
		return bad("want path /<site>/<node>")
	}
	want, err := NodeURI(parts[1], parts[2])
	if err != nil {
		return bad(err.Error())
	}
	if want.String() != u.String() {
		return bad("not in canonical form")
	}
	return parts[1], parts[2], nil
}

// PeerIdentity reads the site and node of a connection's client from its
// verified certificate chain (in a handler: PeerIdentity(r.TLS)). It
// wraps ErrNoClientCert when the client sent no certificate, or one that
// crypto/tls did not verify, and ErrNoIdentity when the verified
// certificate carries no node identity.
func PeerIdentity(cs *tls.ConnectionState) (site, node string, err error) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return "", "", ErrNoClientCert
	}
	leaf := cs.VerifiedChains[0][0]
	if !hasExtKeyUsage(leaf, x509.ExtKeyUsageClientAuth) {
		return "", "", fmt.Errorf("%w: certificate %q is not for client authentication", ErrNoIdentity, leaf.Subject.CommonName)
	}
	return NodeIdentity(leaf)
}

func hasExtKeyUsage(c *x509.Certificate, want x509.ExtKeyUsage) bool {
	for _, u := range c.ExtKeyUsage {
		if u == want {
			return true
		}
	}
	return false
}
