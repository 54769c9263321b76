// Package filelock holds a file's exclusive lock for as long as a process
// keeps it open: one process per SQLite database, one agent per data
// directory. The kernel drops the lock when the holder exits, killed or
// not, so a crash leaves nothing to clean up.
package filelock

// HeldError is Lock's error when another process, or another Lock in
// this one, holds the lock.
type HeldError struct {
	Path string
	PID  string // the holder's process ID, as it wrote it ("unknown" if none)
}

func (e *HeldError) Error() string { return "pid " + e.PID + " holds " + e.Path }
