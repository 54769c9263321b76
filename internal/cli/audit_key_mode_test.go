package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/server"
)

// The audit log's signer key signs the checkpoints tenants and auditors
// trust: a file group or others can read is refused at the start, as
// the token key is, naming the file, its mode and the fix (and the flag
// only when it named the file). The key made at the first start is 0600.
func TestAuditKeyFileModeIsChecked(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.key")
	o := &serverOpts{dataDir: dir}
	if _, _, err := o.auditSigner("f"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the audit key made at the first start: %v %v; want mode 0600", fi.Mode().Perm(), err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		for _, o := range []*serverOpts{{dataDir: dir}, {dataDir: dir, auditKey: path}} {
			_, _, err := o.auditSigner("f")
			want := fmt.Sprintf("audit key %s: mode %04o lets group or others read the key; run: chmod 600 %s", path, mode, path)
			if o.auditKey != "" {
				want = "--audit-key: " + want
			}
			if err == nil || err.Error() != want {
				t.Errorf("an audit key of mode %04o (--audit-key %q): %v; want %q", mode, o.auditKey, err, want)
			}
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.auditSigner("f"); err != nil {
		t.Errorf("an audit key of mode 0400: %v", err)
	}
	os.Chmod(path, 0o644)
	so := &serverOpts{listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", dataDir: dir, site: "local", country: "FR",
		heartbeat: time.Second, timeout: 10 * time.Second, auditRetention: server.MinAuditRetention}
	cp, err := startControlPlane(context.Background(), so, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		cp.close()
		cp.store.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Errorf("a server start with an audit key of mode 0644: %v; want a refusal", err)
	}
}
