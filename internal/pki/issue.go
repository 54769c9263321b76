package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// maxCSR bounds the CSR SignNode parses; a real one is under 1 KiB.
const maxCSR = 16 << 10

// oidCommonName is the X.509 attribute type of a common name.
var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// IssueServer issues a server certificate with a new ECDSA P-256 key for
// exactly the given hosts: each an IP address (IP SAN) or a DNS name (DNS
// SAN, "*." prefix allowed). Nothing is added: list "localhost",
// "127.0.0.1" and "::1" if clients use them. The certificate is valid
// from now for ttl (at most until the CA expires), for ServerAuth only.
// The result has Leaf set.
func (ca *CA) IssueServer(hosts []string, ttl time.Duration) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("issue server certificate: no hosts")
	}
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: hosts[0]}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			continue
		}
		if !validDNSName(h) {
			return tls.Certificate{}, fmt.Errorf("issue server certificate: %q is neither an IP address nor a DNS name", h)
		}
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	key, err := NewNodeKey()
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	der, leaf, err := ca.sign(tmpl, key.Public(), ttl)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// validDNSName accepts host names of letters, digits, '-' and '_' in
// dot-separated labels, optionally after "*.".
func validDNSName(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// SignNode signs a node's CSR (PEM, as NodeCSR makes it) and returns the
// node certificate in PEM. The identity is the CA's decision: site comes
// from the join token, never from the node. SignNode checks that the CSR
// is signed by its own key (ECDSA P-256/P-384 or Ed25519) and that its
// subject is exactly one common name equal to node (else ErrNodeMismatch);
// everything else the CSR asks for is ignored. The certificate holds
// common name node, the URI SAN carnot://node/<site>/<node>, and
// ExtKeyUsage ClientAuth; it is valid from now for ttl, at most until the
// CA expires. Errors wrap ErrInvalidName, ErrBadCSR or ErrNodeMismatch.
func (ca *CA) SignNode(csrPEM []byte, site, node string, ttl time.Duration) (certPEM []byte, err error) {
	uri, err := NodeURI(site, node)
	if err != nil {
		return nil, fmt.Errorf("sign node certificate: %w", err)
	}
	csr, err := ParseCSR(csrPEM)
	if err != nil {
		return nil, fmt.Errorf("sign node certificate: %w", err)
	}
	if cn, err := csrCommonName(csr); err != nil {
		return nil, fmt.Errorf("sign node certificate: %w", err)
	} else if cn != node {
		return nil, fmt.Errorf("sign node certificate: %w: the CSR is for node %q, the join is for node %q", ErrNodeMismatch, cn, node)
	}
	tmpl := &x509.Certificate{
		Subject: pkix.Name{CommonName: node},
		URIs:    []*url.URL{uri},
		// ClientAuth for the agent's calls to the server; ServerAuth for
		// the agent's log server, which the server reaches with
		// NodeServerConfig (the node's identity, not a host name).
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, _, err := ca.sign(tmpl, csr.PublicKey, ttl)
	if err != nil {
		return nil, fmt.Errorf("sign node certificate: %w", err)
	}
	return encodeCertPEM(der), nil
}

// ParseCSR parses and checks an untrusted certificate signing request:
// one PEM "CERTIFICATE REQUEST" block of at most 16 KiB, signed by its
// own key, with a supported key. Errors wrap ErrBadCSR.
func ParseCSR(csrPEM []byte) (*x509.CertificateRequest, error) {
	if len(csrPEM) > maxCSR {
		return nil, fmt.Errorf("%w: %d bytes, want at most %d", ErrBadCSR, len(csrPEM), maxCSR)
	}
	der, err := decodeOnePEM(csrPEM, pemCSR)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCSR, err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: signature does not verify: %v", ErrBadCSR, err)
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return nil, fmt.Errorf("%w: ECDSA curve %s, want P-256 or P-384", ErrBadCSR, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("%w: key type %T, want ECDSA P-256 or P-384, or Ed25519", ErrBadCSR, csr.PublicKey)
	}
	return csr, nil
}

// csrCommonName is the CSR subject's only attribute, a common name.
func csrCommonName(csr *x509.CertificateRequest) (string, error) {
	names := csr.Subject.Names
	if len(names) != 1 || !names[0].Type.Equal(oidCommonName) {
		return "", fmt.Errorf("%w: subject has %d attributes: want only a common name, the node name", ErrBadCSR, len(names))
	}
	cn, ok := names[0].Value.(string)
	if !ok {
		return "", fmt.Errorf("%w: subject common name is not a string", ErrBadCSR)
	}
	return cn, nil
}

// sign completes tmpl (serial, validity, key usage) and signs it for pub.
func (ca *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey, ttl time.Duration) ([]byte, *x509.Certificate, error) {
	if ttl <= 0 {
		return nil, nil, fmt.Errorf("lifetime %s: want a positive duration", ttl)
	}
	now := ca.now()
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-backdate)
	tmpl.NotAfter = now.Add(ttl)
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	if !tmpl.NotAfter.After(now) {
		return nil, nil, fmt.Errorf("CA %q expired on %s", ca.cert.Subject.CommonName, ca.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return der, leaf, nil
}
