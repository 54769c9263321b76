package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// MaxLine is the longest line Verify accepts.
const MaxLine = 1 << 20

// Result is what a successful Verify proved.
type Result struct {
	Origin      string
	Entries     int64     // entries checked
	Size        int64     // tree size of the latest checkpoint (= Entries)
	Root        tlog.Hash // its root
	Checkpoints int       // checkpoints checked
	Latest      []byte    // the latest checkpoint, to keep as the next trusted one
}

// verifier is Verify's state while it reads an export.
type verifier struct {
	v      note.Verifier
	origin string
	n      int64       // entries read
	hashes []tlog.Hash // their stored hashes
	latest *Checkpoint
	count  int
	// After the first entry out of sequence, gap records it and the rest
	// of the export is only read to tell a deletion from a reordering.
	gap        error
	maxSeq     int64
	outOfOrder bool
	// buf and scratch are reused by each entry's fast path.
	buf, scratch []byte
}

func (s *verifier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s.hashes)) {
			return nil, fmt.Errorf("stored hash %d not read yet", x)
		}
		out[i] = s.hashes[x]
	}
	return out, nil
}

// Verify reads an export written by Export and checks every entry
// against every checkpoint, and the export against trusted, a
// checkpoint signed by v that the caller kept from an earlier
// verification (nil for none). Without trusted, Verify proves the export
// is internally consistent and signed, but not that it is the whole log:
// keep Result.Latest and pass it next time. trusted may be signed by one
// of previous instead (kept from before a rotation of the signer key);
// the export's checkpoints must be signed by v. Errors wrap the sentinel
// errors of this package and say at which line and tree size.
func Verify(r io.Reader, v note.Verifier, trusted []byte, previous ...note.Verifier) (Result, error) {
	s := &verifier{v: v}
	var trust *Checkpoint
	if trusted != nil {
		cp, err := OpenCheckpoint(trusted, v, previous...)
		if err != nil {
			return Result{}, fmt.Errorf("trusted checkpoint: %w", err)
		}
		trust = &cp
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256<<10), MaxLine)
	line := 0
	for sc.Scan() {
		line++
		if line > 1 && s.entryFast(line, sc.Bytes()) {
			continue
		}
		if err := s.line(line, sc.Bytes()); err != nil {
			return Result{}, err
		}
	}
	if err := sc.Err(); err != nil {
		return Result{}, fmt.Errorf("%w: line %d: %v", ErrMalformed, line+1, err)
	}
	return s.finish(trust)
}

func (s *verifier) line(line int, b []byte) error {
	var rec record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil || dec.More() {
		return fmt.Errorf("%w: line %d: not one JSON record: %v", ErrMalformed, line, err)
	}
	parts := 0
	for _, set := range []bool{rec.Format != "" || rec.Origin != "", rec.Entry != nil, rec.Checkpoint != ""} {
		if set {
			parts++
		}
	}
	switch {
	case parts != 1:
		return fmt.Errorf("%w: line %d: want exactly one of header, entry or checkpoint", ErrMalformed, line)
	case !asWritten(b, rec):
		// encoding/json takes a key given twice (the last one) and keys
		// in any letter case: such a line would carry text that no
		// checkpoint covers.
		return fmt.Errorf("%w: line %d: not laid out as an export writes it (one key, no spaces)", ErrMalformed, line)
	case line == 1 && rec.Format == "" && rec.Origin == "":
		return fmt.Errorf("%w: line 1: want the header {\"format\":%q,\"origin\":…}", ErrMalformed, Format)
	case rec.Format != "" || rec.Origin != "":
		if line != 1 {
			return fmt.Errorf("%w: line %d: a second header", ErrMalformed, line)
		}
		if rec.Format != Format {
			return fmt.Errorf("%w: line 1: format %q, want %q", ErrMalformed, rec.Format, Format)
		}
		if err := checkOrigin(rec.Origin); err != nil {
			return fmt.Errorf("%w: line 1: %v", ErrMalformed, err)
		}
		s.origin = rec.Origin
		return nil
	case rec.Entry != nil:
		return s.entry(line, rec.Entry)
	default:
		return s.checkpoint(line, []byte(rec.Checkpoint))
	}
}

// asWritten reports whether line b, read as rec, is byte for byte what
// Export writes for rec. An entry's own bytes are left to ParseEntry,
// which says what is not canonical in them.
func asWritten(b []byte, rec record) bool {
	if rec.Entry != nil {
		const prefix = `{"entry":`
		return len(b) == len(prefix)+len(rec.Entry)+1 && string(b[:len(prefix)]) == prefix &&
			bytes.Equal(b[len(prefix):len(b)-1], rec.Entry) && b[len(b)-1] == '}'
	}
	want, err := json.Marshal(rec)
	return err == nil && bytes.Equal(want, b)
}

// entryFast checks line b if it is an entry due next, in canonical form
// and laid out as Export writes it ({"entry":…}), without reflection,
// and reports whether it did. Any other line, and any entry it cannot
// vouch for, is left to line, which decides and says what is wrong; an
// entry it accepts, line accepts too (canonical_test.go).
func (s *verifier) entryFast(line int, b []byte) bool {
	const prefix = `{"entry":`
	if s.gap != nil || len(b) < len(prefix)+2 || string(b[:len(prefix)]) != prefix || b[len(b)-1] != '}' {
		return false
	}
	raw := b[len(prefix) : len(b)-1]
	r, buf, ok := parseCanonical(raw, s.buf[:0])
	s.buf = buf
	if !ok || r.seq != s.n {
		return false
	}
	_, s.scratch, ok = r.check(raw, s.scratch)
	return ok && s.append(line, raw) == nil
}

func (s *verifier) entry(line int, raw []byte) error {
	e, err := ParseEntry(raw)
	if err != nil {
		return fmt.Errorf("line %d: %w", line, err)
	}
	if s.gap != nil {
		s.outOfOrder = s.outOfOrder || e.Seq <= s.maxSeq
		s.maxSeq = max(s.maxSeq, e.Seq)
		return nil
	}
	switch {
	case e.Seq > s.n:
		// Deleted, unless a lower seq turns up later.
		s.gap = fmt.Errorf("line %d: entry seq %d where seq %d was due", line, e.Seq, s.n)
		if e.Seq > s.n+1 {
			s.gap = fmt.Errorf("%w: entries %d to %d", s.gap, s.n, e.Seq-1)
		}
		s.maxSeq = e.Seq
		return nil
	case e.Seq < s.n:
		return fmt.Errorf("%w: line %d: entry seq %d after seq %d", ErrReordered, line, e.Seq, s.n-1)
	}
	return s.append(line, raw)
}

// append adds entry s.n, whose canonical encoding is raw, to the tree.
func (s *verifier) append(line int, raw []byte) error {
	hashes, err := tlog.StoredHashes(s.n, raw, s)
	if err != nil {
		return fmt.Errorf("line %d: entry %d: %w", line, s.n, err)
	}
	s.hashes = append(s.hashes, hashes...)
	s.n++
	return nil
}

func (s *verifier) checkpoint(line int, msg []byte) error {
	if s.gap != nil {
		return nil
	}
	cp, err := OpenCheckpoint(msg, s.v)
	if err != nil {
		return fmt.Errorf("line %d: %w", line, err)
	}
	if cp.Origin != s.origin {
		return fmt.Errorf("%w: line %d: checkpoint of %q in the export of %q", ErrOrigin, line, cp.Origin, s.origin)
	}
	if s.latest != nil && cp.Size < s.latest.Size {
		return fmt.Errorf("%w: line %d: checkpoint at tree size %d after one at %d (a replayed older checkpoint)",
			ErrRollback, line, cp.Size, s.latest.Size)
	}
	if cp.Size > s.n {
		return fmt.Errorf("%w: line %d: checkpoint signs %d entries but only %d precede it", ErrDeleted, line, cp.Size, s.n)
	}
	h, err := tlog.TreeHash(cp.Size, s)
	if err != nil {
		return fmt.Errorf("line %d: %w", line, err)
	}
	if h != cp.Root {
		return fmt.Errorf("%w at checkpoint %d (line %d, tree size %d): entries hash to %s, the signed root is %s: an entry before it was modified, removed or reordered",
			ErrModified, s.count+1, line, cp.Size, h, cp.Root)
	}
	s.latest = &cp
	s.count++
	return nil
}

func (s *verifier) finish(trust *Checkpoint) (Result, error) {
	if s.origin == "" {
		return Result{}, fmt.Errorf("%w: empty export", ErrMalformed)
	}
	if s.gap != nil {
		if s.outOfOrder {
			return Result{}, fmt.Errorf("%w: %v, and later ones are out of order", ErrReordered, s.gap)
		}
		return Result{}, fmt.Errorf("%w: %v", ErrDeleted, s.gap)
	}
	if s.latest == nil {
		return Result{}, fmt.Errorf("%w: the export of %q has %d entries and no checkpoint", ErrUnsigned, s.origin, s.n)
	}
	if trust != nil {
		if err := s.checkTrusted(*trust); err != nil {
			return Result{}, err
		}
	}
	if s.latest.Size < s.n {
		return Result{}, fmt.Errorf("%w: entries %d to %d follow the last checkpoint (tree size %d)",
			ErrUnsigned, s.latest.Size, s.n-1, s.latest.Size)
	}
	return Result{Origin: s.origin, Entries: s.n, Size: s.latest.Size, Root: s.latest.Root,
		Checkpoints: s.count, Latest: s.latest.Note}, nil
}

func (s *verifier) checkTrusted(t Checkpoint) error {
	if t.Origin != s.origin {
		return fmt.Errorf("%w: the trusted checkpoint is of %q, the export of %q", ErrOrigin, t.Origin, s.origin)
	}
	if s.n < t.Size {
		return fmt.Errorf("%w: the export has %d entries, the trusted checkpoint signs %d", ErrTruncated, s.n, t.Size)
	}
	if s.latest.Size < t.Size {
		return fmt.Errorf("%w: the export's latest checkpoint is at tree size %d, older than the trusted one at %d",
			ErrRollback, s.latest.Size, t.Size)
	}
	if t.Size == 0 {
		return nil
	}
	proof, err := tlog.ProveTree(s.latest.Size, t.Size, s)
	if err != nil {
		return fmt.Errorf("consistency with the trusted checkpoint: %w", err)
	}
	if err := VerifyConsistency(t, *s.latest, proof); err != nil {
		if !errors.Is(err, ErrForked) {
			return err
		}
		return fmt.Errorf("the export is not an extension of the trusted checkpoint: %w", err)
	}
	return nil
}
