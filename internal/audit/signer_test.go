package audit

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// A checkpoint signed by another key than the verifier's says which key
// signed it (name and hash, as a verifier key starts), so that whoever
// checks it tells a rotated key from a forged note, and is told of
// --previous-key; the same name with another hash is the usual case of
// a rotation.
func TestBadSignatureNamesTheSigner(t *testing.T) {
	old, now := newKey(t, "carnot-test"), newKey(t, "carnot-test")
	ck, err := SignCheckpoint(testOrigin, tlog.Tree{N: 1, Hash: tlog.RecordHash([]byte("x"))}, old.signer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenCheckpoint(ck.Note, now.verifier)
	signer := fmt.Sprintf("carnot-test+%08x", old.signer.KeyHash())
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "signed by "+signer) {
		t.Fatalf("a checkpoint of another key: %v; want ErrBadSignature naming %s", err, signer)
	}
	if _, err := OpenCheckpoint(ck.Note, now.verifier, old.verifier); err != nil {
		t.Fatalf("with the previous key: %v", err)
	}
}
