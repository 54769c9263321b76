package audit

import (
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// HashStore keeps a log's stored hashes (tlog.StoredHashes) in memory, as
// the list Store describes, and counts the entries they are of: the
// ReadHashes and Size of a Store, for one that keeps its records apart
// (MemStore in memory; a server's, in its database). It is safe for
// concurrent use.
type HashStore struct {
	mu     sync.RWMutex
	hashes []tlog.Hash
	n      int64 // the entries whose hashes are stored
}

// ReadHashes implements Store.
func (h *HashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(h.hashes)) {
			return nil, fmt.Errorf("stored hash %d: not in the log (%d stored)", x, len(h.hashes))
		}
		out[i] = h.hashes[x]
	}
	return out, nil
}

// Size implements Store: the number of entries whose hashes are stored.
func (h *HashStore) Size() (int64, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n, nil
}

// AppendHashes stores the hashes of entry n, which must be the current
// size. A Store's Append calls it under its own lock, holding that lock
// until the entry itself is stored too, so that a reader of the entry
// (ReadRecords, under the same lock) never finds it counted but absent.
func (h *HashStore) AppendHashes(n int64, hashes []tlog.Hash) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n != h.n || tlog.StoredHashIndex(0, n) != int64(len(h.hashes)) {
		return fmt.Errorf("append entry %d: the store holds %d", n, h.n)
	}
	h.hashes = append(h.hashes, hashes...)
	h.n++
	return nil
}
