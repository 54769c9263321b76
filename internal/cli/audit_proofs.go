package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"

	"golang.org/x/mod/sumdb/note"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
)

// proofsStart is how a tenant's export ('carnot audit export --tenant',
// GET /v1/audit/entries) begins, indented or not; a whole log's export
// begins with its header, {"format":….
var proofsStart = regexp.MustCompile(`^\s*\{\s*"checkpoint"\s*:`)

// isProofs reports whether r, whose start it peeks at, holds a tenant's
// export rather than a whole log's.
func isProofs(r *bufio.Reader) bool {
	head, _ := r.Peek(64)
	return proofsStart.Match(head)
}

// verifyProofs checks a tenant's export: the checkpoint's signature by v
// and the inclusion proof of each entry in the tree it signs, and that
// the entries are of one tenant, each once, in seq order (as the server
// lists them): another tenant's entry in it, or one listed twice, is
// refused though its proof checks. It returns the opened checkpoint, the
// number of entries proven and their tenant.
func verifyProofs(r io.Reader, v note.Verifier) (audit.Checkpoint, int, string, error) {
	var doc api.AuditEntries
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return audit.Checkpoint{}, 0, "", fmt.Errorf("%w: a tenant's export: %v", audit.ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return audit.Checkpoint{}, 0, "", fmt.Errorf("%w: a tenant's export: more than one JSON object", audit.ErrMalformed)
	}
	cp, err := audit.OpenCheckpoint([]byte(doc.Checkpoint), v)
	if err != nil {
		return audit.Checkpoint{}, 0, "", err
	}
	tenant, last := "", int64(-1)
	for i, ae := range doc.Entries {
		var raw bytes.Buffer // the export indents the canonical entry
		if err := json.Compact(&raw, ae.Entry); err != nil {
			return cp, i, "", fmt.Errorf("%w: entries[%d]: %v", audit.ErrMalformed, i, err)
		}
		e, err := audit.ParseEntry(raw.Bytes())
		if err != nil {
			return cp, i, "", fmt.Errorf("entries[%d]: %w", i, err)
		}
		proof, err := audit.DecodeHashes(ae.Proof)
		if err != nil {
			return cp, i, "", fmt.Errorf("%w: entries[%d] (seq %d): proof: %v", audit.ErrMalformed, i, e.Seq, err)
		}
		if _, err := audit.VerifyInclusion(e, proof, []byte(doc.Checkpoint), v); err != nil {
			return cp, i, "", fmt.Errorf("entries[%d]: %w", i, err)
		}
		switch {
		case e.Seq <= last:
			return cp, i, "", fmt.Errorf("%w: entries[%d] (seq %d) after seq %d: a tenant's export lists each entry once, in seq order", audit.ErrReordered, i, e.Seq, last)
		case i == 0:
			tenant = e.Tenant
		case e.Tenant != tenant:
			return cp, i, "", fmt.Errorf("%w: entries[%d] (seq %d) is of tenant %s, entries[0] of tenant %s: a tenant's export holds one tenant's entries",
				audit.ErrMalformed, i, e.Seq, or(e.Tenant, `""`), or(tenant, `""`))
		}
		last = e.Seq
	}
	return cp, len(doc.Entries), tenant, nil
}

// errProofsCheckpoint refuses --checkpoint with a tenant's export, which
// carries no consistency proof.
var errProofsCheckpoint = errors.New("--checkpoint: a tenant's export proves its entries, not that the log extends a kept checkpoint; check that with carnot audit consistency")
