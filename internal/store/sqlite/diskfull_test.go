package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A disk that fills up: writes fail with an error that says so, nothing
// acknowledged is lost, the database is not corrupt, and once there is
// room again the same store writes on. The disk is a 1 MiB tmpfs, which
// needs root (CI runs as root); elsewhere the test says why it skips.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	path := filepath.Join(dir, "carnot.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pad := strings.Repeat("x", 4000)
	var acked []string
	var werr error
	for i := 0; i < 10000; i++ {
		id := fmt.Sprintf("j%05d", i)
		j := &api.Job{ID: id, Kind: "job", Tenant: "t", PriorityClass: "normal", State: api.StatePending,
			SubmitTime: time.Now(), Message: pad}
		if _, _, werr = db.CreateJob(ctx, j, "", &api.Event{Time: time.Now(), Job: id, Tenant: "t", Type: api.EventSubmitted}); werr != nil {
			break
		}
		acked = append(acked, id)
	}
	if werr == nil {
		t.Fatal("10,000 jobs of 4 kB fit on a 1 MiB disk")
	}
	if !strings.Contains(werr.Error(), "full") {
		t.Errorf("the error does not say the disk is full: %v", werr)
	}
	t.Logf("%d jobs acknowledged before: %v", len(acked), werr)
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	// The same store writes on once there is room.
	j := &api.Job{ID: "after", Kind: "job", Tenant: "t", PriorityClass: "normal", State: api.StatePending, SubmitTime: time.Now()}
	if _, _, err := db.CreateJob(ctx, j, "", &api.Event{Time: time.Now(), Job: "after", Tenant: "t", Type: api.EventSubmitted}); err != nil {
		t.Errorf("a write once there is room again: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}
	raw.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range acked {
		if _, err := db.Job(ctx, id); err != nil {
			t.Fatalf("acknowledged job %s after the disk filled: %v", id, err)
		}
	}
}
