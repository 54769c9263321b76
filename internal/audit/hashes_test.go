package audit

import (
	"errors"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// A proof's hashes read back as written; anything but the base64 of a
// hash is malformed.
func TestHashesRoundTrip(t *testing.T) {
	l := newLog(t)
	grow(t, l, newKey(t, "carnot-test"), 0, 37, 1000, "a")
	p, err := l.ConsistencyProof(5, 37)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHashes(EncodeHashes(p))
	if err != nil || !slices.Equal(got, []tlog.Hash(p)) {
		t.Fatalf("DecodeHashes(EncodeHashes(p)) = %v, %v; want %v", got, err, p)
	}
	if got, err := DecodeHashes(nil); err != nil || len(got) != 0 {
		t.Errorf("no hashes: %v, %v", got, err)
	}
	for _, bad := range []string{"", "!!!!", "AAAA", EncodeHashes(p)[0] + "AAAA"} {
		if _, err := DecodeHashes([]string{bad}); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeHashes(%q): %v, want ErrMalformed", bad, err)
		}
	}
}
