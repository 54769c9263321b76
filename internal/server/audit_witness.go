package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
)

// actorAudit is the actor of the events of the server's own checks of
// its audit log.
const actorAudit = "server:audit"

// witnessDoc is the witness file: the latest checkpoint the server
// signed. It holds hashes only.
type witnessDoc struct {
	Origin     string `json:"origin"`
	Size       int64  `json:"size"`
	Root       string `json:"root"`
	Checkpoint string `json:"checkpoint"`
}

// readWitness reads the witness file at path: nil when there is none. A
// file that cannot be read or parsed is logged and left to be replaced
// at the next signing: a witness is a check, never a reason not to start.
func (s *Server) readWitness(path string) *audit.Checkpoint {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var d witnessDoc
	if err == nil {
		err = json.Unmarshal(b, &d)
	}
	var root tlog.Hash
	if err == nil {
		root, err = tlog.ParseHash(d.Root)
	}
	if err == nil && d.Size < 0 {
		err = fmt.Errorf("tree size %d", d.Size)
	}
	if err != nil {
		s.log.Warn("the audit log's witness file is not readable: the log is not checked against the checkpoint signed last; it is replaced at the next signing",
			"file", path, "err", err)
		return nil
	}
	return &audit.Checkpoint{Origin: d.Origin, Size: d.Size, Root: root, Note: []byte(d.Checkpoint)}
}

// writeWitness replaces the witness file with ck, whole or not at all.
func writeWitness(path string, ck audit.Checkpoint) error {
	b, _ := json.Marshal(witnessDoc{Origin: ck.Origin, Size: ck.Size, Root: ck.Root.String(), Checkpoint: string(ck.Note)})
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// rewritten says how the log, synced, fails to extend the witnessed
// checkpoint w: "" when it extends it. The caller holds a.mu.
func (a *auditor) rewritten(w *audit.Checkpoint) (string, error) {
	n, err := a.log.Size()
	if err != nil {
		return "", err
	}
	if n < w.Size {
		return fmt.Sprintf("audit log history rewritten: the log holds %d entries, fewer than the %d of the checkpoint this server signed last (root %s): "+
			"the database was restored from an older backup, or events were deleted in it; checkpoints kept since show the log rolled back",
			n, w.Size, w.Root), nil
	}
	h, err := a.log.TreeHash(w.Size)
	if err != nil {
		return "", err
	}
	if h == w.Root {
		return "", nil
	}
	return fmt.Sprintf("audit log history rewritten: the first %d entries hash to root %s, not to the root %s of the checkpoint this server signed last: "+
		"an event among them was edited or removed in the database, or the database was restored from another history; checkpoints kept since show the history forked",
		w.Size, h, w.Root), nil
}

// checkWitness checks, once after the start, that the synced log extends
// the checkpoint the server signed last (Config.AuditWitness). A log
// that does not is logged (ERROR) and recorded in the log itself, as an
// event of actor server:audit, before anything is signed; the server
// then signs the log as it is, and the witness moves on to it.
func (s *Server) checkWitness(ctx context.Context) error {
	a := s.audit
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	a.mu.Lock()
	w := a.witnessed
	if a.checked || w == nil || w.Origin != a.log.Origin() {
		if !a.checked && w != nil { // another log's: replaced at the next signing
			a.witnessed = nil
		}
		a.checked = true
		a.mu.Unlock()
		return nil
	}
	msg, err := a.rewritten(w)
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("audit: checking the log against the checkpoint signed last: %w", err)
	}
	if msg != "" {
		ev := api.Event{Time: s.cfg.Now().UTC(), Type: api.EventPolicy, Actor: actorAudit, Message: msg}
		if err := s.putRecords(ctx, nil, []api.Event{ev}); err != nil {
			return fmt.Errorf("audit: recording a rewritten history: %w", err)
		}
		s.log.Error(msg, "witness", s.cfg.AuditWitness)
		if err := a.sync(ctx, s.store); err != nil {
			return err
		}
	}
	a.mu.Lock()
	a.checked, a.witnessed = true, nil
	if msg == "" {
		a.witnessed = w
	}
	a.mu.Unlock()
	return nil
}

// witness records ck as the latest checkpoint signed, when it signs more
// than the one recorded. The caller holds a.mu. A failed write is logged:
// the witness is a check, not a condition of signing.
func (s *Server) witness(ck audit.Checkpoint) {
	a := s.audit
	if s.cfg.AuditWitness == "" || (a.witnessed != nil && ck.Size <= a.witnessed.Size) {
		return
	}
	if err := writeWitness(s.cfg.AuditWitness, ck); err != nil {
		s.log.Warn("writing the audit log's witness file", "file", s.cfg.AuditWitness, "err", err)
		return
	}
	a.witnessed = &ck
}
