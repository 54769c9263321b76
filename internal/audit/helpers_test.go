package audit

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

const testOrigin = "carnot audit test"

type testKey struct {
	signer   note.Signer
	verifier note.Verifier
}

func newKey(t testing.TB, name string) testKey {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{s, v}
}

// sample returns entry i of a deterministic workload; salt tells two
// logs' entries apart.
func sample(i int, salt string) Entry {
	actions := []string{ActionSubmit, ActionStart, ActionPreempt, ActionDefer, ActionCancel, ActionReject}
	return Entry{
		Time:   time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Kind:   KindDecision,
		Actor:  "scheduler",
		Tenant: fmt.Sprintf("tenant-%d", i%3),
		Job:    fmt.Sprintf("job-%d", i),
		Node:   fmt.Sprintf("node-%d", i%7),
		Action: actions[i%len(actions)],
		Detail: fmt.Sprintf("%s decision %d <&>", salt, i),
	}
}

// grow appends entries [from, to) of sample(…, salt) and signs a
// checkpoint every `every` entries.
func grow(t testing.TB, l *Log, k testKey, from, to, every int, salt string) []Checkpoint {
	t.Helper()
	var cps []Checkpoint
	for i := from; i < to; i++ {
		if _, err := l.Append(sample(i, salt)); err != nil {
			t.Fatal(err)
		}
		if (i+1)%every == 0 || i == to-1 {
			cp, err := l.Checkpoint(k.signer)
			if err != nil {
				t.Fatal(err)
			}
			cps = append(cps, cp)
		}
	}
	return cps
}

func newLog(t testing.TB) *Log {
	t.Helper()
	l, err := New(testOrigin, NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func export(t testing.TB, l *Log, cps []Checkpoint) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Export(t.Context(), &b, l, cps); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// lines splits an export into lines without their newlines.
func lines(b []byte) []string { return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") }

func join(ls []string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

// entryLine returns the index in ls of the entry with seq.
func entryLine(t testing.TB, ls []string, seq int) int {
	t.Helper()
	prefix := fmt.Sprintf(`{"entry":{"seq":%d,`, seq)
	for i, l := range ls {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	t.Fatalf("no entry %d", seq)
	return -1
}

func checkpointLine(t testing.TB, cp Checkpoint) string {
	t.Helper()
	b, err := json.Marshal(record{Checkpoint: string(cp.Note)})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func withCheckpoint(ls []string, i int, line string) []string {
	ls = slices.Clone(ls)
	ls[i] = line
	return ls
}

func swap(ls []string, i, j int) []string {
	ls = slices.Clone(ls)
	ls[i], ls[j] = ls[j], ls[i]
	return ls
}

// renumber rewrites the seqs of entry lines to 0, 1, 2… in line order,
// as a tamperer covering their tracks would.
func renumber(t testing.TB, ls []string) []string {
	t.Helper()
	ls = slices.Clone(ls)
	seq := int64(0)
	for i, l := range ls {
		var r record
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.Entry == nil {
			continue
		}
		e, err := ParseEntry(r.Entry)
		if err != nil {
			t.Fatal(err)
		}
		e.Seq = seq
		seq++
		c, err := e.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		ls[i] = `{"entry":` + string(c) + `}`
	}
	return ls
}
