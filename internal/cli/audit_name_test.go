package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/server"
)

// startedAs starts the control plane of a server without --facility on
// dir (as carnot dev when dev) and returns the name of its audit signer
// key (audit.pub's) and its log's origin (the store's record).
func startedAs(t *testing.T, dir string, dev bool) (key, origin string) {
	t.Helper()
	o := &serverOpts{listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", dataDir: dir, site: "local", country: "FR",
		heartbeat: time.Second, timeout: 10 * time.Second, auditRetention: server.MinAuditRetention, dev: dev}
	cp, err := startControlPlane(context.Background(), o, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cp.store.Close()
	defer cp.close()
	pub, err := os.ReadFile(filepath.Join(dir, "audit.pub"))
	if err != nil {
		t.Fatal(err)
	}
	key, _, _ = strings.Cut(string(pub), "+")
	doc, err := cp.store.Record(context.Background(), "audit-log", "current")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Origin string }
	if err := json.Unmarshal(doc, &rec); err != nil {
		t.Fatal(err)
	}
	return key, rec.Origin
}

// carnot server without --facility is no development server: its audit
// signer key and its log are named carnot, not carnot-dev as carnot
// dev's are. A data directory of an earlier start keeps its key and its
// log's origin, whatever the server is called now: checkpoints kept
// before still verify, and are still of this log.
func TestServerWithoutFacilityIsNotNamedDev(t *testing.T) {
	key, origin := startedAs(t, t.TempDir(), false)
	if key != "carnot" || origin != "carnot audit carnot" {
		t.Errorf("carnot server without --facility: key %q, origin %q; want carnot, carnot audit carnot", key, origin)
	}
	dir := t.TempDir()
	key, origin = startedAs(t, dir, true)
	if key != "carnot-dev" || origin != "carnot audit dev" {
		t.Errorf("carnot dev: key %q, origin %q; want carnot-dev, carnot audit dev", key, origin)
	}
	key, origin = startedAs(t, dir, false)
	if key != "carnot-dev" || origin != "carnot audit dev" {
		t.Errorf("carnot server on carnot dev's data directory: key %q, origin %q; want them kept (carnot-dev, carnot audit dev)", key, origin)
	}
}
