package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/pki"
	"github.com/carnot-dc/carnot/internal/server"
)

// The server reads an operator's --tls-key whatever its mode (keys shared
// with a group such as ssl-cert, 0640, are common), but warns, naming the
// file and the fix, when others may read it.
func TestTLSKeyReadableByOthersIsWarnedOf(t *testing.T) {
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o640, false}, {0o644, true}, {0o604, true}} {
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
		if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(keyFile, c.mode); err != nil {
			t.Fatal(err)
		}
		o := &serverOpts{listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", dataDir: filepath.Join(dir, "data"),
			site: "local", country: "FR", heartbeat: time.Second, timeout: 10 * time.Second,
			logLevel: "warn", auditRetention: server.MinAuditRetention, tlsCert: certFile, tlsKey: keyFile}
		var logs bytes.Buffer
		ctx, stop := context.WithCancel(context.Background())
		cp, err := startControlPlane(ctx, o, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
		if err != nil {
			stop()
			t.Fatalf("mode %04o: %v; want the key read", c.mode, err)
		}
		stop()
		cp.close()
		cp.store.Close()
		var line string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "--tls-key") {
				line = l
			}
		}
		switch {
		case c.warn && (!strings.Contains(line, "level=WARN") || !strings.Contains(line, keyFile) || !strings.Contains(line, "chmod")):
			t.Errorf("--tls-key of mode %04o: log line %q; want a warning naming %s and the chmod that fixes it", c.mode, line, keyFile)
		case !c.warn && line != "":
			t.Errorf("--tls-key of mode %04o: log line %q; want none", c.mode, line)
		}
	}
}
