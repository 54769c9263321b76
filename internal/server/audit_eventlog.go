package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
	"github.com/carnot-dc/carnot/internal/store"
)

// eventRecords is the audit tree's store (audit.Store) for a server: the
// tree's stored hashes in memory (about 64 bytes an entry) and the event
// each entry is (8 bytes), while the entries themselves are read back
// from the events table when asked for (an export, a tenant's entries)
// and encoded again as sync encoded them. The log's records were kept in
// memory as well before, a few hundred bytes an entry for as long as the
// server ran: a site's years of events in its memory.
//
// An entry read back must hash to the leaf the tree holds for it: a row
// of the events table changed after it was logged is refused, naming the
// event, instead of being served under a proof it no longer matches
// (checkWitness finds such a row at a start; this finds it at any read).
type eventRecords struct {
	// the tree's stored hashes: its ReadHashes and Size
	audit.HashStore
	db store.Store

	mu   sync.RWMutex // seqs and next
	seqs []int64      // the event of each entry
	// next are the events of the entries being appended, in order
	// (expect); Append takes the first of them for each entry
	next []int64
}

// errLogAltered is the cause of a read of entries the events table no
// longer holds as they were logged: no retry mends it.
var errLogAltered = errors.New("the audit log does not match the events table")

// readFrom makes a's log keep its entries in the events table of db,
// reading them back when asked for, instead of in memory. It must come
// before the first sync.
func (a *auditor) readFrom(db store.Store) error {
	if n, _ := a.log.Size(); n > 0 {
		return fmt.Errorf("audit: the log already holds %d entries in memory", n)
	}
	er := &eventRecords{db: db}
	l, err := audit.New(a.log.Origin(), er)
	if err != nil {
		return err
	}
	a.log, a.events = l, er
	return nil
}

// expect notes the events whose entries are appended next, in order.
func (r *eventRecords) expect(evs []api.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next = r.next[:0]
	for _, ev := range evs {
		r.next = append(r.next, ev.Seq)
	}
}

// Append implements audit.Store: it keeps the hashes and the event the
// entry is, not the record.
func (r *eventRecords) Append(n int64, _ []byte, hashes []tlog.Hash) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n != int64(len(r.seqs)) {
		return fmt.Errorf("audit store: append of entry %d to a log of %d", n, len(r.seqs))
	}
	if len(r.next) == 0 {
		return fmt.Errorf("audit store: entry %d is of no event", n)
	}
	// under r.mu, so that ReadRecords finds the entry's event once Size
	// counts it
	if err := r.AppendHashes(n, hashes); err != nil {
		return fmt.Errorf("audit store: %w", err)
	}
	r.seqs = append(r.seqs, r.next[0])
	r.next = r.next[1:]
	return nil
}

// ReadRecords implements audit.Store: entries [from, to) read back from
// the events table, each checked against its leaf, while ctx (the
// request's) is not done.
func (r *eventRecords) ReadRecords(ctx context.Context, from, to int64) ([][]byte, error) {
	r.mu.RLock()
	if from < 0 || to > int64(len(r.seqs)) || from > to {
		n := len(r.seqs)
		r.mu.RUnlock()
		return nil, fmt.Errorf("records [%d, %d): not in the log (%d entries)", from, to, n)
	}
	seqs := append([]int64(nil), r.seqs[from:to]...)
	r.mu.RUnlock()
	// the leaves of entries [from, to) are stored: Append stores an
	// entry's hashes before its event
	at := make([]int64, len(seqs))
	for i := range at {
		at[i] = tlog.StoredHashIndex(0, from+int64(i))
	}
	leaves, err := r.ReadHashes(at)
	if err != nil {
		return nil, fmt.Errorf("records [%d, %d): %w", from, to, err)
	}
	out := make([][]byte, 0, len(seqs))
	for len(out) < len(seqs) {
		i := len(out)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		evs, err := r.db.Events(ctx, store.EventFilter{After: seqs[i] - 1, Limit: len(seqs) - i})
		if err != nil {
			return nil, fmt.Errorf("reading entry %d: %w", from+int64(i), err)
		}
		// the events from seqs[i] on are the entries from i on: every
		// event is a leaf, in order (sync); one that is not (a row
		// written into the table by hand) is passed over
		for _, ev := range evs {
			if i == len(seqs) {
				break
			}
			if ev.Seq < seqs[i] {
				continue
			}
			if ev.Seq != seqs[i] {
				return nil, fmt.Errorf("entry %d: event %d is gone from the events table: %w", from+int64(i), seqs[i], errLogAltered)
			}
			e, _ := toValidUTF8(entryOf(ev))
			e.Seq, e.Time = from+int64(i), e.Time.UTC()
			rec, err := e.Canonical()
			if err != nil {
				return nil, fmt.Errorf("entry %d: %w", from+int64(i), err)
			}
			if tlog.RecordHash(rec) != leaves[i] {
				return nil, fmt.Errorf("entry %d: event %d was changed in the events table after it was logged: %w", from+int64(i), ev.Seq, errLogAltered)
			}
			out = append(out, rec)
			i++
		}
		// each read makes progress: its first event is seqs[i] or an error
		if len(evs) == 0 {
			return nil, fmt.Errorf("entry %d: event %d is gone from the events table: %w", from+int64(len(out)), seqs[len(out)], errLogAltered)
		}
	}
	return out, nil
}
