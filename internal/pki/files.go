package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// File modes: private keys are readable by their owner only.
const (
	dirMode  fs.FileMode = 0o700
	certMode fs.FileMode = 0o644
	keyMode  fs.FileMode = 0o600
)

// PEM block types.
const (
	pemCert = "CERTIFICATE"
	pemKey  = "PRIVATE KEY" // PKCS #8
	pemCSR  = "CERTIFICATE REQUEST"
)

// writeFile writes data to path atomically: a crash leaves the old file
// (or none) or the new one, never a part. With replace false it fails
// with an error wrapping fs.ErrExist instead of replacing a file.
func writeFile(path string, data []byte, perm fs.FileMode, replace bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if replace {
		err = os.Rename(tmp, path)
	} else if err = os.Link(tmp, path); err == nil {
		_ = os.Remove(tmp) // os.Link fails if path exists: nothing replaced
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename durable; best effort (not all systems allow it).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// readKeyFile reads a private key file this package wrote, refusing one
// that group or others can read.
func readKeyFile(path string) (crypto.Signer, error) {
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("read key %s: %w", path, err)
		}
		if m := st.Mode().Perm(); m&0o077 != 0 {
			return nil, fmt.Errorf("%w: %s has mode %#o; run chmod 600 %s", ErrKeyPermissions, path, m, path)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	key, err := parseKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	return key, nil
}

// readCertFile reads a file holding exactly one PEM certificate.
func readCertFile(path string) (*x509.Certificate, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read certificate %s: %w", path, err)
	}
	c, err := ParseCertPEM(b)
	if err != nil {
		return nil, nil, fmt.Errorf("read certificate %s: %w", path, err)
	}
	return c, b, nil
}

// decodeOnePEM decodes exactly one PEM block of type typ with no headers,
// and nothing but white space around it.
func decodeOnePEM(b []byte, typ string) ([]byte, error) {
	trimmed := bytes.TrimSpace(b)
	block, rest := pem.Decode(trimmed)
	switch {
	case block == nil || !bytes.HasPrefix(trimmed, []byte("-----BEGIN ")):
		return nil, fmt.Errorf("want one PEM %q block", typ)
	case block.Type != typ:
		return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, typ)
	case len(block.Headers) != 0:
		return nil, fmt.Errorf("PEM %q block has headers", typ)
	case len(bytes.TrimSpace(rest)) != 0:
		return nil, errors.New("data after the PEM block")
	}
	return block.Bytes, nil
}

// ParseCertPEM parses one PEM certificate, with nothing around it.
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	der, err := decodeOnePEM(b, pemCert)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func parseKeyPEM(b []byte) (crypto.Signer, error) {
	der, err := decodeOnePEM(b, pemKey)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	return s, nil
}

func encodeKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemKey, Bytes: der}), nil
}

func encodeCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCert, Bytes: der})
}

// samePublicKey reports whether key is the private half of pub.
func samePublicKey(key crypto.Signer, pub crypto.PublicKey) bool {
	k, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(pub)
}
