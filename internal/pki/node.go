package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Files of a node's credentials directory.
const (
	NodeKeyFile  = "node.key"
	NodeCertFile = "node.crt"
)

// NewNodeKey makes a new ECDSA P-256 private key.
func NewNodeKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// NodeCSR makes a certificate signing request, in PEM, whose subject is
// only the common name node. It asks for nothing else: the CA decides the
// site (see SignNode).
func NodeCSR(key crypto.Signer, node string) ([]byte, error) {
	if err := CheckName(node); err != nil {
		return nil, fmt.Errorf("node CSR: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader,
		&x509.CertificateRequest{Subject: pkix.Name{CommonName: node}}, key)
	if err != nil {
		return nil, fmt.Errorf("node CSR: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemCSR, Bytes: der}), nil
}

// SaveNode writes a node's key and certificate to dir (created with mode
// 0700 if missing): node.key with mode 0600 and node.crt, replacing
// older ones. It first checks that certPEM is one
// certificate for key that carries a node identity.
//
// The certificate is written first beside the old one (node.crt.new),
// then the key, then the certificate is renamed into place: after a
// crash between the steps, LoadNode loads the old pair or the new key
// with its certificate, and finishes the save.
func SaveNode(dir string, key crypto.Signer, certPEM []byte) error {
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return fmt.Errorf("save node certificate: %w", err)
	}
	if !samePublicKey(key, cert.PublicKey) {
		return fmt.Errorf("save node certificate: the certificate is not for this key")
	}
	if _, _, err := NodeIdentity(cert); err != nil {
		return fmt.Errorf("save node certificate: %w", err)
	}
	keyPEM, err := encodeKeyPEM(key)
	if err != nil {
		return fmt.Errorf("save node key: %w", err)
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("save node certificate: %w", err)
	}
	// The new certificate waits beside the old one until its key is in
	// place: a crash between the steps leaves a pair LoadNode can load
	// (the old one, or the new key with its waiting certificate).
	pending := filepath.Join(dir, nodeCertPending)
	if err := writeFile(pending, certPEM, certMode, true); err != nil {
		return err
	}
	saveNodeStep("certificate")
	if err := writeFile(filepath.Join(dir, NodeKeyFile), keyPEM, keyMode, true); err != nil {
		return err
	}
	saveNodeStep("key")
	if err := os.Rename(pending, filepath.Join(dir, NodeCertFile)); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dir, NodeCertFile), err)
	}
	syncDir(dir)
	return nil
}

// nodeCertPending is where SaveNode puts a new certificate until its key
// is saved.
const nodeCertPending = NodeCertFile + ".new"

// saveNodeStep is called after each step of SaveNode; tests stop a save
// there.
var saveNodeStep = func(string) {}

// LoadNode reads a node's key and certificate from dir, ready for
// ClientConfig; Leaf is set. When the node has not enrolled yet the error
// wraps fs.ErrNotExist. It refuses a key file that group or others can
// read and a certificate that is not for the key.
func LoadNode(dir string) (tls.Certificate, error) {
	keyPath, certPath := filepath.Join(dir, NodeKeyFile), filepath.Join(dir, NodeCertFile)
	cert, _, err := readCertFile(certPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := readKeyFile(keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	if !samePublicKey(key, cert.PublicKey) {
		// A save of a new key that stopped before its last step: its
		// certificate waits beside the old one (SaveNode).
		pending := filepath.Join(dir, nodeCertPending)
		if c, _, err := readCertFile(pending); err == nil && samePublicKey(key, c.PublicKey) {
			if os.Rename(pending, certPath) == nil {
				syncDir(dir)
			}
			cert = c
		} else {
			return tls.Certificate{}, fmt.Errorf("load node certificate: %s is not for the key in %s; enroll the node again", certPath, keyPath)
		}
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}, nil
}

// Renewable reports whether cert (nil: none) is a valid certificate of
// node now and for a minute more: the node may renew it with itself, as
// a join token enrolls a node name once.
func Renewable(cert *x509.Certificate, node string, now time.Time) bool {
	if cert == nil {
		return false
	}
	_, name, err := NodeIdentity(cert)
	return err == nil && name == node && !now.Before(cert.NotBefore) && !ExpiresWithin(cert, now, time.Minute)
}

// ExpiresWithin reports whether cert is no longer valid at now+d: time to
// renew it. A common choice of d is a third of the lifetime.
func ExpiresWithin(cert *x509.Certificate, now time.Time, d time.Duration) bool {
	return !now.Add(d).Before(cert.NotAfter)
}
