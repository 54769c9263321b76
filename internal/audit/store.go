package audit

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// Store keeps a log's entries and its stored hashes (tlog.StoredHashes).
// The hashes of entry n go at indexes tlog.StoredHashIndex(0, n) onward,
// right after those of entry n-1, so a store can keep them as a list
// (HashStore, whose ReadHashes and Size a store can take). A database
// store implements it inside the transaction that makes the change being
// audited.
type Store interface {
	// ReadHashes returns the stored hashes at indexes, in order
	// (tlog.HashReader).
	ReadHashes(indexes []int64) ([]tlog.Hash, error)
	// Size returns the number of entries stored.
	Size() (int64, error)
	// Append stores entry n's canonical encoding and its stored hashes,
	// both or neither; n is always the current size.
	Append(n int64, record []byte, hashes []tlog.Hash) error
	// ReadRecords returns the canonical encodings of entries [from, to).
	// Once ctx is done it reads nothing more and returns ctx's error (an
	// export or a page whose client went away), so a store that reads
	// its entries from elsewhere stops there.
	ReadRecords(ctx context.Context, from, to int64) ([][]byte, error)
}

// MemStore is a Store in memory, safe for concurrent use.
type MemStore struct {
	// hashes is a field, not embedded, so that its AppendHashes, which
	// would store hashes without their record, is not MemStore's
	hashes  HashStore
	mu      sync.RWMutex // records
	records [][]byte
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{} }

// ReadHashes implements Store.
func (m *MemStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	return m.hashes.ReadHashes(indexes)
}

// Size implements Store.
func (m *MemStore) Size() (int64, error) { return m.hashes.Size() }

// Append implements Store.
func (m *MemStore) Append(n int64, record []byte, hashes []tlog.Hash) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n != int64(len(m.records)) {
		return fmt.Errorf("append entry %d: the store holds %d", n, len(m.records))
	}
	if err := m.hashes.AppendHashes(n, hashes); err != nil {
		return err
	}
	m.records = append(m.records, slices.Clone(record))
	return nil
}

// ReadRecords implements Store.
func (m *MemStore) ReadRecords(ctx context.Context, from, to int64) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if from < 0 || from > to || to > int64(len(m.records)) {
		return nil, fmt.Errorf("records [%d, %d): the store holds %d", from, to, len(m.records))
	}
	return slices.Clone(m.records[from:to]), nil
}
