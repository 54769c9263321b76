package audit

// Figures in docs/benchmarks.md (issue 5: verifying 1,000,000 entries in
// at most 10 s), from
//
//	go test -run '^$' -bench '1M' -benchtime 1x -count 6 ./internal/audit/
//	go test -run '^$' -bench 'Append|Checkpoint' -count 6 ./internal/audit/

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// bigExport is a 1,000,000-entry export, built once per process: its
// bytes, the key that signed it and a checkpoint at an earlier, odd tree
// size (so that the consistency proof is not trivial).
var bigExport struct {
	once    sync.Once
	log     *Log
	cps     []Checkpoint
	data    []byte
	key     testKey
	trusted Checkpoint
	root    tlog.Hash
}

const bigEntries = 1_000_000

// big builds bigExport: sample entries, a checkpoint every 100,000 and at
// the end, as a server exporting its log to an auditor would.
func big(b *testing.B) {
	bigExport.once.Do(func() {
		k := newKey(b, "carnot-bench")
		l := newLog(b)
		cps := grow(b, l, k, 0, bigEntries, 100_000, "bench")
		root, err := l.TreeHash(bigEntries)
		if err != nil {
			b.Fatal(err)
		}
		bigExport.log, bigExport.cps = l, cps
		bigExport.data = export(b, l, cps)
		bigExport.key = k
		bigExport.trusted = signAt(b, l, k, 733_331)
		bigExport.root = root
	})
	if bigExport.data == nil {
		b.Fatal("building the 1,000,000-entry export failed")
	}
}

// BenchmarkVerify1M is `carnot audit verify --checkpoint` on an export
// of 1,000,000 entries: Verify reads it from a file (as the CLI does),
// parses every line, checks each entry is canonical, hashes it into the
// tree, checks the root and signature of each of the 10 checkpoints, and
// proves the export consistent with a trusted checkpoint at tree size
// 733,331. Target (issue 5): at most 10 s.
func BenchmarkVerify1M(b *testing.B) {
	big(b)
	path := filepath.Join(b.TempDir(), "audit.jsonl")
	if err := os.WriteFile(path, bigExport.data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bigExport.data)))
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Verify(f, bigExport.key.verifier, bigExport.trusted.Note)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if res.Entries != bigEntries || res.Size != bigEntries || res.Checkpoints != 10 || res.Root != bigExport.root {
			b.Fatalf("Verify = %+v, want %d entries under 10 checkpoints", res, bigEntries)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/verify")
	b.ReportMetric(float64(bigEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkExport1M writes the 1,000,000-entry log as JSONL (what
// GET /v1/audit/export does after its checkpoint).
func BenchmarkExport1M(b *testing.B) {
	big(b)
	b.SetBytes(int64(len(bigExport.data)))
	for b.Loop() {
		if err := Export(b.Context(), io.Discard, bigExport.log, bigExport.cps); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bigEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkAppend is the tree's cost per entry: its canonical encoding,
// its leaf hash and the interior hashes it completes (tlog.StoredHashes),
// appended to a MemStore one call at a time.
func BenchmarkAppend(b *testing.B) {
	l := newLog(b)
	i := 0
	for b.Loop() {
		if _, err := l.Append(sample(i, "bench")); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkCheckpoint signs a checkpoint of a 1,000,000-entry tree: the
// tree hash from the stored hashes and an Ed25519 signed note.
func BenchmarkCheckpoint(b *testing.B) {
	k := newKey(b, "carnot-bench")
	l := newLog(b)
	entries := make([]Entry, 1<<20)
	for i := range entries {
		entries[i] = sample(i, "bench")
	}
	if _, err := l.Append(entries...); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := l.Checkpoint(k.signer); err != nil {
			b.Fatal(err)
		}
	}
}
