package audit

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestVerifyValid(t *testing.T) {
	k := newKey(t, "carnot-test")
	l := newLog(t)
	cps := grow(t, l, k, 0, 1000, 100, "a")
	b := export(t, l, cps)
	res, err := Verify(bytes.NewReader(b), k.verifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, err := l.TreeHash(1000)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 1000 || res.Size != 1000 || res.Checkpoints != 10 || res.Root != root || res.Origin != testOrigin {
		t.Errorf("result = %+v, want 1000 entries, 10 checkpoints, root %s", res, root)
	}
	if !bytes.Equal(res.Latest, cps[9].Note) {
		t.Errorf("latest checkpoint is not the last one signed")
	}
	for _, trusted := range []Checkpoint{cps[0], cps[4], cps[9]} {
		if _, err := Verify(bytes.NewReader(b), k.verifier, trusted.Note); err != nil {
			t.Errorf("with the checkpoint at %d trusted: %v", trusted.Size, err)
		}
	}
	// Entries read back equal entries appended.
	got, err := l.Entries(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		want := sample(i, "a")
		want.Seq = int64(i)
		if e != want {
			t.Fatalf("entry %d = %+v, want %+v", i, e, want)
		}
	}
}

// TestTamper checks that each way of tampering with an export is caught,
// and reported as what it is.
func TestTamper(t *testing.T) {
	k := newKey(t, "carnot-test")
	l := newLog(t)
	cps := grow(t, l, k, 0, 400, 100, "a")
	good := lines(export(t, l, cps))

	// A fork: a log sharing the first 100 entries, then its own.
	fork := newLog(t)
	forkCps := grow(t, fork, k, 0, 100, 100, "a")
	forkCps = append(forkCps, grow(t, fork, k, 100, 150, 100, "b")...)

	other := newKey(t, "carnot-test")
	otherLog := newLog(t)
	otherCps := grow(t, otherLog, other, 0, 400, 100, "a")
	foreign, err := New("carnot audit elsewhere", NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	foreignCps := grow(t, foreign, k, 0, 400, 100, "a")

	edit := func(ls []string, seq int, f func(string) string) []string {
		ls = slices.Clone(ls)
		i := entryLine(t, ls, seq)
		ls[i] = f(ls[i])
		return ls
	}
	tests := []struct {
		name    string
		export  []string
		trusted []byte
		want    error
		msg     string
	}{
		{"edit detail", edit(good, 150, func(s string) string { return strings.Replace(s, "decision 150", "decision 15O", 1) }),
			nil, ErrModified, "checkpoint 2 (line 203, tree size 200)"},
		{"edit tenant", edit(good, 399, func(s string) string { return strings.Replace(s, "tenant-0", "tenant-1", 1) }),
			nil, ErrModified, "tree size 400"},
		{"non-canonical", edit(good, 3, func(s string) string { return strings.Replace(s, `"kind"`, ` "kind"`, 1) }),
			nil, ErrMalformed, "not in canonical form"},
		{"delete", slices.Delete(slices.Clone(good), entryLine(t, good, 150), entryLine(t, good, 150)+1),
			nil, ErrDeleted, "entry seq 151 where seq 150 was due"},
		{"delete and renumber", renumber(t, slices.Delete(slices.Clone(good), entryLine(t, good, 150), entryLine(t, good, 150)+1)),
			nil, ErrDeleted, "checkpoint signs 200 entries but only 199 precede it"},
		{"truncate", good[:entryLine(t, good, 300)], cps[3].Note, ErrTruncated, "300 entries, the trusted checkpoint signs 400"},
		{"reorder", swap(good, entryLine(t, good, 150), entryLine(t, good, 151)), nil, ErrReordered, "seq 151 where seq 150"},
		{"reorder and renumber", renumber(t, swap(good, entryLine(t, good, 150), entryLine(t, good, 151))),
			nil, ErrModified, "tree size 200"},
		{"duplicate", slices.Insert(slices.Clone(good), 5, good[4]), nil, ErrReordered, "entry seq 3 after seq 3"},
		{"fork", good, forkCps[1].Note, ErrForked, "not a prefix"},
		{"wrong key", lines(export(t, otherLog, otherCps)), nil, ErrBadSignature, "line 102"},
		{"untrusted trusted checkpoint", good, otherCps[0].Note, ErrBadSignature, "trusted checkpoint"},
		{"forged root", withCheckpoint(good, 101, strings.Replace(checkpointLine(t, cps[0]), "\\n100\\n", "\\n99\\n", 1)),
			nil, ErrBadSignature, "line 102"},
		{"replayed checkpoint", append(slices.Clone(good), checkpointLine(t, cps[0])), nil, ErrRollback, "tree size 100 after one at 400"},
		{"rolled back export", good[:len(good)-1], cps[3].Note, ErrRollback, "latest checkpoint is at tree size 300"},
		{"another log's checkpoint", withCheckpoint(good, 101, checkpointLine(t, foreignCps[0])), nil, ErrOrigin, "carnot audit elsewhere"},
		{"unsigned tail", good[:len(good)-1], nil, ErrUnsigned, "entries 300 to 399"},
		{"no header", good[1:], nil, ErrMalformed, "line 1"},
		{"empty", nil, nil, ErrMalformed, "empty export"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := join(tc.export)
			if tc.export == nil {
				b = nil
			}
			_, err := Verify(bytes.NewReader(b), k.verifier, tc.trusted)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Verify: %q does not say %q", err, tc.msg)
			}
		})
	}
	// Truncation without a trusted checkpoint is undetectable; docs/audit.md says so.
	if _, err := Verify(bytes.NewReader(join(good[:entryLine(t, good, 300)])), k.verifier, nil); err != nil {
		t.Errorf("truncated at a checkpoint, nothing trusted: %v", err)
	}
}
