//go:build unix

package filelock

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// A second Lock of a held path is refused naming the holder; once the
// holder closes the file, the path can be locked again.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	f, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(path)
	var held *HeldError
	if !errors.As(err, &held) || held.PID != strconv.Itoa(os.Getpid()) || err.Error() != "pid "+held.PID+" holds "+path {
		t.Fatalf("second Lock: %v; want a HeldError naming this process", err)
	}
	f.Close()
	g, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after the holder closed: %v", err)
	}
	g.Close()
}
