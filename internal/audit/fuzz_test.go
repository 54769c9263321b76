package audit

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

func proofBytes(p tlog.RecordProof) []byte {
	var b []byte
	for _, h := range p {
		b = append(b, h[:]...)
	}
	return b
}

// FuzzInclusion mutates the proof, the entry and its index: only the
// real entry with its real proof may verify.
func FuzzInclusion(f *testing.F) {
	const n = 37
	k := newKey(f, "carnot-fuzz")
	l := newLog(f)
	grow(f, l, k, 0, n, 1000, "a")
	cp, err := l.Checkpoint(k.signer)
	if err != nil {
		f.Fatal(err)
	}
	entries, err := l.Entries(f.Context(), 0, n)
	if err != nil {
		f.Fatal(err)
	}
	proofs := make([][]byte, n)
	for i := range proofs {
		p, err := l.InclusionProof(int64(i), n)
		if err != nil {
			f.Fatal(err)
		}
		proofs[i] = proofBytes(p)
		f.Add(int64(i), proofs[i], entries[i].Actor, entries[i].Detail, int64(0))
	}
	f.Add(int64(-1), []byte{}, "", "", int64(1))
	f.Add(int64(n), proofs[0], "x", "y", int64(-5))
	f.Fuzz(func(t *testing.T, seq int64, proof []byte, actor, detail string, shift int64) {
		var e Entry
		if seq >= 0 && seq < n {
			e = entries[seq]
		}
		e.Seq, e.Actor, e.Detail = seq, actor, detail
		e.Time = e.Time.Add(time.Duration(shift % (1 << 40)))
		var p tlog.RecordProof
		for b := proof; len(b) >= tlog.HashSize; b = b[tlog.HashSize:] {
			p = append(p, tlog.Hash(b[:tlog.HashSize]))
		}
		if _, err := VerifyInclusion(e, p, cp.Note, k.verifier); err != nil {
			return
		}
		want, _ := entries[seq].Canonical()
		got, _ := e.Canonical()
		if !bytes.Equal(got, want) || !bytes.Equal(proofBytes(p), proofs[seq]) {
			t.Fatalf("forged inclusion verified: entry %s, proof %x", got, proof)
		}
	})
}

// FuzzVerify feeds Verify arbitrary exports: it may reject them but must
// not panic, and what it accepts must be fully signed.
func FuzzVerify(f *testing.F) {
	k := newKey(f, "carnot-fuzz")
	l := newLog(f)
	cps := grow(f, l, k, 0, 9, 4, "a")
	good := export(f, l, cps)
	f.Add(good, false)
	f.Add(good, true)
	f.Add(good[:len(good)/2], true)
	f.Add([]byte(`{"format":"carnot-audit/1","origin":"x"}`+"\n"+`{"entry":{}}`), false)
	f.Add(binary.AppendUvarint(nil, 1<<62), false)
	f.Fuzz(func(t *testing.T, data []byte, trust bool) {
		var trusted []byte
		if trust {
			trusted = cps[1].Note
		}
		res, err := Verify(bytes.NewReader(data), k.verifier, trusted)
		if err == nil && (res.Size != res.Entries || res.Checkpoints == 0) {
			t.Fatalf("accepted an export with unsigned entries: %+v", res)
		}
	})
}
