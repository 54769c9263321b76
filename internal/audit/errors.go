package audit

import "errors"

// Verification failures. Verify and VerifyInclusion wrap one of these in
// a message that says where the problem is; test with errors.Is.
var (
	// ErrMalformed: the export or a checkpoint cannot be parsed, or an
	// entry is not in canonical form.
	ErrMalformed = errors.New("malformed audit data")
	// ErrModified: the entries do not hash to a signed root, so an entry
	// before that checkpoint was changed (or entries were removed and the
	// rest renumbered).
	ErrModified = errors.New("entry modified: root mismatch")
	// ErrDeleted: an entry is missing (a gap in Seq, or a checkpoint
	// signs more entries than precede it).
	ErrDeleted = errors.New("entry deleted")
	// ErrReordered: entries are out of order or repeated.
	ErrReordered = errors.New("entries reordered")
	// ErrTruncated: the export is shorter than the trusted checkpoint.
	ErrTruncated = errors.New("log truncated")
	// ErrForked: the export's history is not the history the trusted
	// checkpoint signed.
	ErrForked = errors.New("history forked")
	// ErrBadSignature: a checkpoint is not signed by the trusted key.
	ErrBadSignature = errors.New("checkpoint signature does not verify")
	// ErrRollback: a checkpoint is older than one already seen or trusted.
	ErrRollback = errors.New("checkpoint rolled back")
	// ErrUnsigned: entries (or the whole export) are not covered by any
	// checkpoint.
	ErrUnsigned = errors.New("entries not covered by a checkpoint")
	// ErrOrigin: a checkpoint names another log.
	ErrOrigin = errors.New("checkpoint is for another log")
	// ErrNotIncluded: an inclusion proof does not prove the entry.
	ErrNotIncluded = errors.New("entry not proven included")
)
