//go:build unix

package sqlite

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOneProcessPerDatabase: a second Open of a database another holder
// has open fails with ErrInUse naming the holder's process, whether the
// holder is this process or another one; once the holder closes it (or
// dies), Open succeeds.
func TestOneProcessPerDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carnot.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second Open: %v, want ErrInUse naming pid %d", err, os.Getpid())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Another process holds it: this test binary again, opening the
	// database and waiting on its stdin.
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHoldDatabase$")
	cmd.Env = append(os.Environ(), "CARNOT_TEST_HOLD_DB="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("the holder did not open the database: %q %v", buf, err)
	}
	_, err = Open(path)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("Open while another process holds it: %v, want ErrInUse naming pid %d", err, cmd.Process.Pid)
	}
	_ = cmd.Process.Kill() // a killed holder leaves no lock behind
	_ = cmd.Wait()
	stdin.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	db.Close()
}

// TestHoldDatabase is the holder process of TestOneProcessPerDatabase.
func TestHoldDatabase(t *testing.T) {
	path := os.Getenv("CARNOT_TEST_HOLD_DB")
	if path == "" {
		t.Skip("run by TestOneProcessPerDatabase as its holder process")
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	os.Stdout.WriteString("held\n")
	buf := make([]byte, 1)
	os.Stdin.Read(buf) // until the parent kills this process
}
