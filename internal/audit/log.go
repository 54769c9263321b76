package audit

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Log is an append-only audit log over a Store. It is safe for
// concurrent use by one process; the Store must not be appended to by
// anyone else.
type Log struct {
	origin string
	mu     sync.Mutex
	store  Store
}

// New returns the log named origin (for example "carnot audit paris")
// kept in s. The origin is the first line of every checkpoint.
func New(origin string, s Store) (*Log, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	return &Log{origin: origin, store: s}, nil
}

// Origin returns the log's name.
func (l *Log) Origin() string { return l.origin }

// Size returns the number of entries in the log.
func (l *Log) Size() (int64, error) { return l.store.Size() }

// Append adds entries in order, setting each one's Seq to its index and
// its Time to UTC, and returns them as stored. On an error the entries
// before the failing one stay appended.
func (l *Log) Append(entries ...Entry) ([]Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.store.Size()
	if err != nil {
		return nil, fmt.Errorf("audit append: %w", err)
	}
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		e.Seq, e.Time = n, e.Time.UTC()
		rec, err := e.Canonical()
		if err != nil {
			return out, fmt.Errorf("audit append: %w", err)
		}
		hashes, err := tlog.StoredHashes(n, rec, l.store)
		if err != nil {
			return out, fmt.Errorf("audit append entry %d: %w", n, err)
		}
		if err := l.store.Append(n, rec, hashes); err != nil {
			return out, fmt.Errorf("audit append: %w", err)
		}
		out = append(out, e)
		n++
	}
	return out, nil
}

// Entries returns entries [from, to), read while ctx is not done.
func (l *Log) Entries(ctx context.Context, from, to int64) ([]Entry, error) {
	recs, err := l.store.ReadRecords(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	out := make([]Entry, len(recs))
	for i, r := range recs {
		if out[i], err = ParseEntry(r); err != nil {
			return nil, fmt.Errorf("audit entry %d in the store: %w", from+int64(i), err)
		}
	}
	return out, nil
}

// TreeHash returns the root of the tree of the first n entries.
func (l *Log) TreeHash(n int64) (tlog.Hash, error) {
	if err := l.checkSize(n); err != nil {
		return tlog.Hash{}, err
	}
	h, err := tlog.TreeHash(n, l.store)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("audit tree hash %d: %w", n, err)
	}
	return h, nil
}

// InclusionProof proves that entry seq is in the tree of size treeSize.
func (l *Log) InclusionProof(seq, treeSize int64) (tlog.RecordProof, error) {
	if err := l.checkSize(treeSize); err != nil {
		return nil, err
	}
	if seq < 0 || seq >= treeSize {
		return nil, fmt.Errorf("audit inclusion proof: entry %d is not in a tree of size %d", seq, treeSize)
	}
	p, err := tlog.ProveRecord(treeSize, seq, l.store)
	if err != nil {
		return nil, fmt.Errorf("audit inclusion proof: %w", err)
	}
	return p, nil
}

// ConsistencyProof proves that the tree of size oldSize is a prefix of
// the tree of size newSize.
func (l *Log) ConsistencyProof(oldSize, newSize int64) (tlog.TreeProof, error) {
	if err := l.checkSize(newSize); err != nil {
		return nil, err
	}
	if oldSize < 1 || oldSize > newSize {
		return nil, fmt.Errorf("audit consistency proof: sizes %d and %d: want 1 <= old <= new", oldSize, newSize)
	}
	p, err := tlog.ProveTree(newSize, oldSize, l.store)
	if err != nil {
		return nil, fmt.Errorf("audit consistency proof: %w", err)
	}
	return p, nil
}

// Checkpoint signs the log's current size and root.
func (l *Log) Checkpoint(s note.Signer) (Checkpoint, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.store.Size()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit checkpoint: %w", err)
	}
	h, err := tlog.TreeHash(n, l.store)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit checkpoint: %w", err)
	}
	return SignCheckpoint(l.origin, tlog.Tree{N: n, Hash: h}, s)
}

func (l *Log) checkSize(n int64) error {
	size, err := l.store.Size()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if n < 0 || n > size {
		return fmt.Errorf("audit: tree size %d: the log has %d entries", n, size)
	}
	return nil
}
