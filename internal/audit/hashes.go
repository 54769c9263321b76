package audit

import (
	"encoding/base64"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// EncodeHashes writes the hashes of a proof (tlog.RecordProof,
// tlog.TreeProof) as the API carries them: one standard base64 string
// each.
func EncodeHashes(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// DecodeHashes reads hashes written by EncodeHashes. A string that is not
// the base64 of a hash is ErrMalformed.
func DecodeHashes(ss []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("%w: proof hash %d: want %d bytes in base64, got %q", ErrMalformed, i, tlog.HashSize, s)
		}
		copy(out[i][:], b)
	}
	return out, nil
}
