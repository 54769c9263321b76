package audit

import (
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// A MemStore read while it is appended to never counts an entry it
// cannot give back: at each size a reader sees, the entries, the tree
// and the proofs of that size are there (its hashes and records are kept
// apart, HashStore and a list).
func TestMemStoreSizeHasItsEntries(t *testing.T) {
	const n = 2000
	l := newLog(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if _, err := l.Append(sample(i, "a")); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for size := int64(0); size < n; {
		var err error
		if size, err = l.Size(); err != nil {
			t.Fatal(err)
		}
		if size == 0 {
			continue
		}
		es, err := l.Entries(t.Context(), size-1, size)
		if err != nil {
			t.Fatalf("at size %d: %v", size, err)
		}
		rec, err := es[0].Canonical()
		if err != nil {
			t.Fatal(err)
		}
		p, err := l.InclusionProof(size-1, size)
		if err != nil {
			t.Fatalf("at size %d: %v", size, err)
		}
		root, err := l.TreeHash(size)
		if err != nil {
			t.Fatalf("at size %d: %v", size, err)
		}
		if err := tlog.CheckRecord(p, size, root, size-1, tlog.RecordHash(rec)); err != nil {
			t.Fatalf("at size %d: %v", size, err)
		}
	}
	wg.Wait()
}

// Appending out of turn is refused, both parts or neither stored.
func TestMemStoreAppendOutOfTurn(t *testing.T) {
	m := NewMemStore()
	hs, err := tlog.StoredHashes(0, []byte("a"), m)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Append(1, []byte("a"), hs); err == nil {
		t.Error("entry 1 of an empty store was stored")
	}
	if err := m.Append(0, []byte("a"), hs); err != nil {
		t.Fatal(err)
	}
	if err := m.Append(0, []byte("a"), hs); err == nil {
		t.Error("entry 0 was stored twice")
	}
	n, _ := m.Size()
	recs, err := m.ReadRecords(t.Context(), 0, n)
	if n != 1 || err != nil || len(recs) != 1 {
		t.Errorf("after the refusals: size %d, %d records (%v); want entry 0 alone", n, len(recs), err)
	}
}
