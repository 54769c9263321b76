package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
	"github.com/carnot-dc/carnot/internal/store"
)

// auditor keeps the audit log: the store's events, in their order, as the
// leaves of a Merkle tree (internal/audit). Every event is committed in
// the same transaction as the change it records, so the log holds every
// change; the tree is built from the events table, never from memory, so
// it is the same after a restart and checkpoints signed before and after
// are consistent.
type auditor struct {
	mu      sync.Mutex
	log     *audit.Log
	signer  note.Signer
	lastSeq int64 // the last event in the tree
	logger  *slog.Logger
	// witnessed is the latest checkpoint signed (Config.AuditWitness),
	// nil for none; checked is set once the log was checked against the
	// one read at the start (checkWitness, under checkMu).
	witnessed *audit.Checkpoint
	checked   bool
	checkMu   sync.Mutex
	// byTenant and byJob are the seqs of each tenant's and each job's
	// entries, in order (GET /v1/audit/entries).
	byTenant, byJob map[string][]int64
	// events is the log's store when its entries are read back from the
	// events table (readFrom), nil while they are kept in memory.
	events *eventRecords
}

func newAuditor(origin string, signer note.Signer) (*auditor, error) {
	l, err := audit.New(origin, audit.NewMemStore())
	if err != nil {
		return nil, err
	}
	return &auditor{log: l, signer: signer, byTenant: map[string][]int64{}, byJob: map[string][]int64{}}, nil
}

// actorOf says who caused an event: the API caller the event records,
// else the scheduler, or a node's agent.
func actorOf(ev api.Event) (kind, actor string) {
	if ev.Actor != "" {
		return audit.KindAPI, ev.Actor
	}
	switch ev.Type {
	case api.EventStarted, api.EventPreempt, api.EventDeferred, api.EventEvicted, api.EventRestart, api.EventRecap, api.EventPowerHold:
		return audit.KindDecision, "scheduler"
	}
	// the server's own (a replica lost with a silent node): what a node
	// reports carries its actor, node:NAME
	return audit.KindAPI, "api"
}

// sync appends the events committed since the last sync, in store order.
// On an error the tree holds the events before the one that failed, and
// the next sync retries from there.
func (a *auditor) sync(ctx context.Context, st store.Store) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		evs, err := st.Events(ctx, store.EventFilter{After: a.lastSeq, Limit: 10000})
		if err != nil {
			return fmt.Errorf("audit: reading events: %w", err)
		}
		if len(evs) == 0 {
			return nil
		}
		entries := make([]audit.Entry, len(evs))
		for i, ev := range evs {
			entries[i] = a.validUTF8(ev.Seq, entryOf(ev))
		}
		if a.events != nil {
			a.events.expect(evs)
		}
		// Append keeps the entries before one that fails: the tree then
		// holds the events up to the last of them, and the next sync
		// starts after it, so that no event is a leaf twice.
		done, err := a.log.Append(entries...)
		if len(done) > 0 {
			a.lastSeq = evs[len(done)-1].Seq
		}
		a.index(done)
		if err != nil {
			return fmt.Errorf("audit: event %d: %w", evs[len(done)].Seq, err)
		}
	}
}

// entryOf is the audit entry of an event, before validUTF8.
func entryOf(ev api.Event) audit.Entry {
	kind, actor := actorOf(ev)
	return audit.Entry{Time: ev.Time, Kind: kind, Actor: actor, Tenant: ev.Tenant, Job: ev.Job,
		Node: ev.Node, Action: ev.Type, Detail: ev.Message}
}

// validUTF8 returns e, the entry of event seq, with each run of bytes
// that is not UTF-8 in its text replaced by U+FFFD, as a JSON reader
// reads it, and logs it. The server writes none (requests are JSON), but
// SQLite keeps whatever a writer of the database put there: an entry
// the log cannot encode would otherwise stop it, for every tenant, until
// someone mends the row. The replacement is the same at every rebuild;
// a row changed after a checkpoint is found as any other (checkWitness).
func (a *auditor) validUTF8(seq int64, e audit.Entry) audit.Entry {
	e, bad := toValidUTF8(e)
	if bad && a.logger != nil {
		a.logger.Warn("an event's text in the database is not UTF-8: its audit entry has U+FFFD in its place", "event", seq)
	}
	return e
}

// toValidUTF8 is e with each run of bytes that is not UTF-8 in its text
// replaced by U+FFFD, and whether there was one.
func toValidUTF8(e audit.Entry) (audit.Entry, bool) {
	bad := false
	for _, f := range []*string{&e.Kind, &e.Actor, &e.Tenant, &e.Job, &e.Node, &e.Action, &e.Detail} {
		if !utf8.ValidString(*f) {
			*f, bad = strings.ToValidUTF8(*f, "\uFFFD"), true
		}
	}
	return e, bad
}

// handleAuditCheckpoint signs the log as it is now: a signed note (the
// checkpoint a party keeps to check later exports against).
func (s *Server) handleAuditCheckpoint(w http.ResponseWriter, r *http.Request) {
	ck, ok := s.auditCheckpoint(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(ck.Note)
}

// handleAuditExport writes the whole log with a checkpoint of it, in the
// format `carnot audit verify` reads. The log may grow between the
// signing and the writing (another request's sync): the export stops at
// the checkpoint's tree size (audit.Export). It reads the entries back
// under the request's context: a client that goes away stops the reads.
func (s *Server) handleAuditExport(w http.ResponseWriter, r *http.Request) {
	ck, ok := s.auditCheckpoint(w, r)
	if !ok {
		return
	}
	out := &exportWriter{w: w}
	if err := audit.Export(r.Context(), out, s.audit.log, []audit.Checkpoint{ck}); err != nil {
		if r.Context().Err() != nil {
			// the client went away: nothing is wrong with the log
			s.log.Info("audit export: the client went away", "err", err)
		} else {
			s.log.Error("audit export", "err", err)
		}
		if !out.started {
			// nothing sent yet: say why, rather than an empty export
			problemf(w, http.StatusInternalServerError, "the audit log could not be exported: %v", err)
			return
		}
		// The export is cut short, before its checkpoint: the response
		// is aborted (the connection, or the HTTP/2 stream, reset) so
		// that the client reads an error, not a whole 200 that merely
		// lacks its checkpoint, which carnot audit export would write
		// out as the log.
		panic(http.ErrAbortHandler)
	}
}

// exportWriter is an export's response: its Content-Type is set at the
// first byte written, so that an export that fails before any can be
// answered with a problem instead.
type exportWriter struct {
	w       http.ResponseWriter
	started bool
}

func (e *exportWriter) Write(p []byte) (int, error) {
	if !e.started {
		e.w.Header().Set("Content-Type", "application/x-ndjson")
		e.started = true
	}
	return e.w.Write(p)
}

func (s *Server) auditCheckpoint(w http.ResponseWriter, r *http.Request) (audit.Checkpoint, bool) {
	if s.audit == nil {
		problemf(w, http.StatusServiceUnavailable, "this server has no audit signing key")
		return audit.Checkpoint{}, false
	}
	if err := s.audit.sync(r.Context(), s.store); err != nil {
		problemf(w, http.StatusServiceUnavailable, "%v", err)
		return audit.Checkpoint{}, false
	}
	if err := s.checkWitness(r.Context()); err != nil {
		problemf(w, http.StatusServiceUnavailable, "%v", err)
		return audit.Checkpoint{}, false
	}
	s.audit.mu.Lock()
	defer s.audit.mu.Unlock()
	ck, err := s.audit.log.Checkpoint(s.audit.signer)
	if err != nil {
		problemf(w, http.StatusInternalServerError, "signing the audit checkpoint: %v", err)
		return audit.Checkpoint{}, false
	}
	s.witness(ck)
	return ck, true
}

// handleAuditConsistency proves that the tree of size old (a checkpoint
// the caller kept) is a prefix of the tree of size new, by default the
// one a fresh checkpoint signs, and returns the proof with a checkpoint
// of that tree. It reveals hashes only, so any reader of the log may ask.
func (s *Server) handleAuditConsistency(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var errs []api.FieldError
	oldSize, err := treeSize(q.Get("old"), true)
	if err != nil {
		errs = append(errs, api.FieldError{Field: "old", Message: err.Error()})
	}
	newSize, err := treeSize(q.Get("new"), false)
	if err != nil {
		errs = append(errs, api.FieldError{Field: "new", Message: err.Error()})
	}
	if errs == nil && newSize > 0 && oldSize > newSize {
		errs = append(errs, api.FieldError{Field: "old", Message: fmt.Sprintf("tree size %d is beyond new (%d): want old <= new", oldSize, newSize)})
	}
	if errs != nil {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter", Errors: errs})
		return
	}
	ck, ok := s.auditCheckpoint(w, r)
	if !ok {
		return
	}
	s.audit.mu.Lock()
	defer s.audit.mu.Unlock()
	switch {
	case newSize > ck.Size:
		badSize(w, "new", fmt.Sprintf("tree size %d is beyond the log's %d entries", newSize, ck.Size))
		return
	case oldSize > ck.Size:
		badSize(w, "old", fmt.Sprintf("tree size %d is beyond the log's %d entries: a checkpoint of a larger tree "+
			"is of this log rolled back, or of another log", oldSize, ck.Size))
		return
	case newSize > 0 && newSize < ck.Size:
		if ck, err = s.audit.signAt(newSize); err != nil {
			problemf(w, http.StatusInternalServerError, "%v", err)
			return
		}
	}
	proof, err := s.audit.log.ConsistencyProof(oldSize, ck.Size)
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, api.AuditConsistency{Checkpoint: string(ck.Note), Old: oldSize, Proof: audit.EncodeHashes(proof)})
}

// badSize writes the 400 of a tree size parameter.
func badSize(w http.ResponseWriter, field, msg string) {
	writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
		Errors: []api.FieldError{{Field: field, Message: msg}}})
}

// treeSize reads a tree size parameter: 0 when it is absent and not
// required.
func treeSize(v string, required bool) (int64, error) {
	if v == "" {
		if required {
			return 0, errors.New("required: the tree size of the checkpoint you kept")
		}
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("want a tree size, a whole number of 1 or more, not %q", v)
	}
	return n, nil
}

// signAt signs the tree of the log's first n entries (its root is the
// same at every later size of the log). The caller holds a.mu.
func (a *auditor) signAt(n int64) (audit.Checkpoint, error) {
	h, err := a.log.TreeHash(n)
	if err != nil {
		return audit.Checkpoint{}, err
	}
	return audit.SignCheckpoint(a.log.Origin(), tlog.Tree{N: n, Hash: h}, a.signer)
}
