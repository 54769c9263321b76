package audit

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed statement of a log's size and root. Note is
// the signed note as written and read; the other fields are parsed
// from it.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	Note   []byte
}

// goSumOrigin is the first line tlog.FormatTree writes and ParseTree wants.
const goSumOrigin = "go.sum database tree"

func checkOrigin(origin string) error {
	if origin == "" || strings.TrimSpace(origin) != origin || strings.ContainsFunc(origin, func(r rune) bool {
		return !unicode.IsPrint(r) || r == unicode.ReplacementChar
	}) {
		return fmt.Errorf("audit log origin %q: want one line of printable text", origin)
	}
	return nil
}

// CheckpointText is the text a checkpoint signs: tlog.FormatTree with
// its first line replaced by origin, that is "ORIGIN\nSIZE\nROOT\n".
func CheckpointText(origin string, t tlog.Tree) ([]byte, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	text := tlog.FormatTree(t)
	return append([]byte(origin), text[len(goSumOrigin):]...), nil
}

// SignCheckpoint signs the tree t of the log named origin.
func SignCheckpoint(origin string, t tlog.Tree, s note.Signer) (Checkpoint, error) {
	text, err := CheckpointText(origin, t)
	if err != nil {
		return Checkpoint{}, err
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, s)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit checkpoint: sign: %w", err)
	}
	return Checkpoint{Origin: origin, Size: t.N, Root: t.Hash, Note: msg}, nil
}

// OpenCheckpoint checks msg's signature by v, or by one of previous (the
// keys of a checkpoint kept from before a rotation of the signer key),
// and parses it. A note signed by none of them is ErrBadSignature; one
// that cannot be parsed, ErrMalformed.
func OpenCheckpoint(msg []byte, v note.Verifier, previous ...note.Verifier) (Checkpoint, error) {
	keys := []note.Verifier{v}
	for _, p := range previous {
		if !slices.ContainsFunc(keys, func(k note.Verifier) bool { return k.Name() == p.Name() && k.KeyHash() == p.KeyHash() }) {
			keys = append(keys, p)
		}
	}
	n, err := note.Open(msg, note.VerifierList(keys...))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			by := keyID(v)
			for _, k := range keys[1:] {
				by += " or previous key " + keyID(k)
			}
			if unverified != nil && len(unverified.Note.UnverifiedSigs) > 0 {
				// Say who signed it: another key of the same name is a
				// rotation (the previous key opens it), another name
				// another server or a forgery.
				var signers []string
				for _, sig := range unverified.Note.UnverifiedSigs {
					signers = append(signers, fmt.Sprintf("%s+%08x", sig.Name, sig.Hash))
				}
				return Checkpoint{}, fmt.Errorf("%w: signed by %s, not by key %s (a checkpoint signed before a rotation of the key opens with the previous verifier key)",
					ErrBadSignature, strings.Join(signers, ", "), by)
			}
			return Checkpoint{}, fmt.Errorf("%w by key %s: %v", ErrBadSignature, by, err)
		}
		return Checkpoint{}, fmt.Errorf("%w: checkpoint: %v", ErrMalformed, err)
	}
	origin, rest, ok := strings.Cut(n.Text, "\n")
	if !ok || checkOrigin(origin) != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint: bad origin line", ErrMalformed)
	}
	t, err := tlog.ParseTree([]byte(goSumOrigin + "\n" + rest))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint of %q: %v", ErrMalformed, origin, err)
	}
	return Checkpoint{Origin: origin, Size: t.N, Root: t.Hash, Note: bytes.Clone(msg)}, nil
}

// keyID names a verifier key as its signatures do: NAME+HASH.
func keyID(v note.Verifier) string { return fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash()) }

// VerifyInclusion checks that e is entry e.Seq of the log signed by the
// checkpoint, with proof from Log.InclusionProof(e.Seq, size). It
// returns the opened checkpoint. This is how a tenant checks its own
// entries without seeing anyone else's.
func VerifyInclusion(e Entry, proof tlog.RecordProof, checkpoint []byte, v note.Verifier) (Checkpoint, error) {
	cp, err := OpenCheckpoint(checkpoint, v)
	if err != nil {
		return Checkpoint{}, err
	}
	if e.Seq < 0 || e.Seq >= cp.Size {
		return Checkpoint{}, fmt.Errorf("%w: entry %d is beyond the checkpoint's tree size %d", ErrNotIncluded, e.Seq, cp.Size)
	}
	h, err := e.Hash()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrNotIncluded, err)
	}
	if err := tlog.CheckRecord(proof, cp.Size, cp.Root, e.Seq, h); err != nil {
		return Checkpoint{}, fmt.Errorf("%w: entry %d in tree size %d: %v", ErrNotIncluded, e.Seq, cp.Size, err)
	}
	return cp, nil
}

// VerifyConsistency checks that the log signed by older is a prefix of
// the one signed by newer, with proof from Log.ConsistencyProof. Both
// must be opened checkpoints of the same log.
func VerifyConsistency(older, newer Checkpoint, proof tlog.TreeProof) error {
	if older.Origin != newer.Origin {
		return fmt.Errorf("%w: %q and %q", ErrOrigin, older.Origin, newer.Origin)
	}
	if newer.Size < older.Size {
		return fmt.Errorf("%w: tree size %d after %d", ErrRollback, newer.Size, older.Size)
	}
	if older.Size == 0 {
		return nil
	}
	if err := tlog.CheckTree(proof, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return fmt.Errorf("%w: tree size %d (root %s) is not a prefix of tree size %d (root %s): %v",
			ErrForked, older.Size, older.Root, newer.Size, newer.Root, err)
	}
	return nil
}
