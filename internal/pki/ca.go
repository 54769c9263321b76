package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Files of a CA directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// caLifetime is the development CA's validity; backdate covers clock skew
// between the CA and the machines that check its certificates.
const (
	caLifetime = 10 * 365 * 24 * time.Hour
	backdate   = 5 * time.Minute
)

// CA is a certificate authority: a certificate and its private key. It
// signs server and node certificates. Its methods are safe for concurrent
// use.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	now     func() time.Time // the clock; tests move it
}

// NewCA creates a self-signed development CA: ECDSA P-256, common name
// "Carnot development CA <random suffix>", valid about ten years. It
// lives in memory until Save.
func NewCA() (*CA, error) {
	return newCA(time.Now())
}

func newCA(now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create CA key: %w", err)
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   "Carnot development CA " + hex.EncodeToString(suffix),
			Organization: []string{"Carnot"},
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // signs leaves only
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	return &CA{cert: cert, certPEM: encodeCertPEM(der), key: key, now: time.Now}, nil
}

// LoadCA reads a CA from dir (ca.crt, ca.key). It refuses a key file that
// group or others can read, a key that does not match the certificate, a
// certificate that is not a CA, and an expired CA.
func LoadCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	cert, certPEM, err := readCertFile(certPath)
	if err != nil {
		return nil, err
	}
	key, err := readKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	if !samePublicKey(key, cert.PublicKey) {
		return nil, fmt.Errorf("load CA: %s does not hold the key of %s", keyPath, certPath)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("load CA: %s is not a CA certificate", certPath)
	}
	if now := time.Now(); now.After(cert.NotAfter) {
		return nil, fmt.Errorf("load CA: %s expired on %s; every certificate it signed has expired too: move %s aside to create a new CA, then enroll the nodes again",
			certPath, cert.NotAfter.UTC().Format(time.RFC3339), dir)
	}
	return &CA{cert: cert, certPEM: certPEM, key: key, now: time.Now}, nil
}

// Save writes the CA to dir (created with mode 0700 if missing): ca.key
// with mode 0600, then ca.crt, each atomically. It never replaces a file:
// if either exists it fails with an error wrapping fs.ErrExist.
func (ca *CA) Save(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("save CA: %w", err)
	}
	keyPEM, err := encodeKeyPEM(ca.key)
	if err != nil {
		return fmt.Errorf("save CA: %w", err)
	}
	// The key first: a ca.crt on disk means the pair is complete.
	if err := writeFile(filepath.Join(dir, CAKeyFile), keyPEM, keyMode, false); err != nil {
		return fmt.Errorf("save CA: %w", err)
	}
	if err := writeFile(filepath.Join(dir, CACertFile), ca.certPEM, certMode, false); err != nil {
		return fmt.Errorf("save CA: %w", err)
	}
	return nil
}

// LoadOrCreateCA loads the CA in dir, or creates and saves a new
// development CA there if dir holds neither ca.crt nor ca.key; created
// says which. It refuses to touch a directory holding only one of the two
// files (a crash during creation, or a lost file): the operator decides.
// It is meant for one process at first start, not for several racing.
func LoadOrCreateCA(dir string) (ca *CA, created bool, err error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certOK, err := exists(certPath)
	if err != nil {
		return nil, false, err
	}
	keyOK, err := exists(keyPath)
	if err != nil {
		return nil, false, err
	}
	switch {
	case certOK && keyOK:
		ca, err = LoadCA(dir)
		return ca, false, err
	case certOK:
		return nil, false, fmt.Errorf("load CA: %s exists but %s does not: restore the key, or move %s aside to create a new CA", certPath, keyPath, certPath)
	case keyOK:
		return nil, false, fmt.Errorf("load CA: %s exists but %s does not: restore the certificate, or remove %s to create a new CA", keyPath, certPath, keyPath)
	}
	if ca, err = NewCA(); err != nil {
		return nil, false, err
	}
	if err = ca.Save(dir); err != nil {
		return nil, false, err
	}
	return ca, true, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load CA: %w", err)
	}
	return true, nil
}

// Certificate is the CA's certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM is the CA's certificate in PEM, to hand to clients that must
// trust it (the content of ca.crt).
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// Pool is a certificate pool holding only this CA: the roots for clients
// and the ClientCAs for a server that verifies nodes.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// newSerial is a random 128-bit positive serial number.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}
