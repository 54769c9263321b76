package audit

import (
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func signAt(t testing.TB, l *Log, k testKey, size int64) Checkpoint {
	t.Helper()
	h, err := l.TreeHash(size)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := SignCheckpoint(l.Origin(), tlog.Tree{N: size, Hash: h}, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func TestInclusionEveryEntry(t *testing.T) {
	k := newKey(t, "carnot-test")
	l := newLog(t)
	grow(t, l, k, 0, 257, 1000, "a")
	entries, err := l.Entries(t.Context(), 0, 257)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{1, 2, 100, 128, 129, 256, 257} {
		cp := signAt(t, l, k, size)
		for seq := range size {
			p, err := l.InclusionProof(seq, size)
			if err != nil {
				t.Fatal(err)
			}
			got, err := VerifyInclusion(entries[seq], p, cp.Note, k.verifier)
			if err != nil {
				t.Fatalf("entry %d in tree size %d: %v", seq, size, err)
			}
			if got.Size != size || got.Root != cp.Root {
				t.Fatalf("opened checkpoint %+v, want size %d", got, size)
			}
			// The same proof does not prove a neighbour.
			if other := entries[(seq+1)%257]; size > 1 {
				if _, err := VerifyInclusion(other, p, cp.Note, k.verifier); !errors.Is(err, ErrNotIncluded) {
					t.Fatalf("entry %d with the proof of %d: %v, want ErrNotIncluded", other.Seq, seq, err)
				}
			}
		}
		if _, err := VerifyInclusion(entries[0], nil, cp.Note, newKey(t, "carnot-test").verifier); !errors.Is(err, ErrBadSignature) {
			t.Errorf("another key: %v, want ErrBadSignature", err)
		}
	}
	if _, err := l.InclusionProof(257, 257); err == nil {
		t.Error("proof of an entry beyond the tree: no error")
	}
}

func TestConsistency(t *testing.T) {
	k := newKey(t, "carnot-test")
	l := newLog(t)
	grow(t, l, k, 0, 257, 1000, "a")
	fork := newLog(t)
	grow(t, fork, k, 0, 64, 1000, "a")
	grow(t, fork, k, 64, 257, 1000, "b")
	sizes := []int64{1, 63, 64, 65, 128, 200, 257}
	for _, older := range sizes {
		for _, newer := range sizes {
			if newer < older {
				continue
			}
			p, err := l.ConsistencyProof(older, newer)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyConsistency(signAt(t, l, k, older), signAt(t, l, k, newer), p); err != nil {
				t.Errorf("%d -> %d: %v", older, newer, err)
			}
			fp, err := fork.ConsistencyProof(older, newer)
			if err != nil {
				t.Fatal(err)
			}
			err = VerifyConsistency(signAt(t, l, k, older), signAt(t, fork, k, newer), fp)
			if forked := older > 64; forked != errors.Is(err, ErrForked) {
				t.Errorf("%d of the log -> %d of the fork: %v (forked %v)", older, newer, err, forked)
			}
		}
	}
	if err := VerifyConsistency(signAt(t, l, k, 100), signAt(t, l, k, 50), nil); !errors.Is(err, ErrRollback) {
		t.Errorf("newer smaller than older: %v, want ErrRollback", err)
	}
}
