package agent

import (
	"os"
	"path/filepath"
)

// A node whose agent cannot write its data directory (a full or
// read-only disk, an I/O error) fails every task it is given at its start
// (exit code 126) while it heartbeats as healthy: a black hole that
// fails the jobs the scheduler keeps sending. A start that failed for the
// agent's own files (StartError.Agent, or the record of what it starts)
// sets diskErr, and so does a running task's log that could not be
// written for want of room (streamLog.onFull: a disk filled meanwhile),
// before a start fails there; every heartbeat says it (api.Heartbeat.DiskError), and
// the server gives the node no new work while it is set; every heartbeat
// also writes a probe file to the data directory (and to DataDir/work,
// where the tasks' default work directories are made) and the record of
// the tasks it started, and clears it once all succeed.

// probeFile is written, synced and removed to check the data directory.
const probeFile = ".write-probe"

// noteDiskLocked records err as why the agent cannot start tasks.
// Caller holds mu.
func (a *Agent) noteDiskLocked(err error) {
	msg := err.Error()
	if a.diskErr == "" {
		a.log.Error("the agent cannot write its data directory: the node takes no new work until it can", "dir", a.cfg.DataDir, "err", err)
	}
	a.diskErr = msg
}

// probeDisk, while diskErr is set, checks whether the data directory
// can be written again, and clears diskErr when it can. It does its IO
// without mu. It returns diskErr as it then is.
func (a *Agent) probeDisk() string {
	a.mu.Lock()
	had := a.diskErr
	a.mu.Unlock()
	if had == "" || a.cfg.DataDir == "" {
		return had
	}
	err := writeProbe(a.cfg.DataDir)
	if _, ok := a.rt.(*processes); ok && err == nil {
		// and where the tasks' default work directories are made
		work := filepath.Join(a.cfg.DataDir, "work")
		if err = os.MkdirAll(work, 0o755); err == nil {
			err = writeProbe(work)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil { // and the record of what it starts, which failed starts too
		err = a.writeStartedLocked(true)
	}
	if err != nil {
		return a.diskErr // still: the reason stays the first one's
	}
	if a.diskErr == had { // no new failure since the probe began
		a.diskErr = ""
		a.log.Info("the agent can write its data directory again: the node takes work again", "dir", a.cfg.DataDir)
	}
	return a.diskErr
}

// writeProbe writes, syncs and removes a small file in dir.
func writeProbe(dir string) error {
	p := filepath.Join(dir, probeFile)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(make([]byte, 4096))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := os.Remove(p); err == nil && rerr != nil && !os.IsNotExist(rerr) {
		err = rerr
	}
	return err
}
