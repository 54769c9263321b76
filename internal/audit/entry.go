package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"
)

// Kinds of entry.
const (
	KindAPI      = "api"      // a request to the HTTP API
	KindDecision = "decision" // a decision of the scheduling core
)

// Actions.
const (
	ActionSubmit  = "submit"
	ActionCancel  = "cancel"
	ActionStart   = "start"
	ActionPreempt = "preempt"
	ActionDefer   = "defer"
	ActionReject  = "reject"
)

// Entry is one audited event. Seq is its 0-based index in the log and is
// part of what is hashed, so an entry cannot be moved without detection.
type Entry struct {
	Seq    int64
	Time   time.Time // stored in UTC
	Kind   string
	Actor  string
	Tenant string
	Job    string
	Node   string
	Action string
	Detail string
}

// wireEntry fixes the canonical JSON: these keys in this order, all
// present, the time as RFC 3339 in UTC with nanoseconds and no trailing
// zeros, strings as encoding/json escapes them (<, > and & as \u003c…):
// json.Marshal of it. appendCanonical writes the same bytes faster.
type wireEntry struct {
	Seq    int64  `json:"seq"`
	Time   string `json:"time"`
	Kind   string `json:"kind"`
	Actor  string `json:"actor"`
	Tenant string `json:"tenant"`
	Job    string `json:"job"`
	Node   string `json:"node"`
	Action string `json:"action"`
	Detail string `json:"detail"`
}

// Canonical returns the entry's canonical JSON encoding, the bytes whose
// tlog.RecordHash is the entry's leaf in the tree.
func (e Entry) Canonical() ([]byte, error) {
	if e.Seq < 0 {
		return nil, fmt.Errorf("entry seq %d: negative", e.Seq)
	}
	strs := [7]string{e.Kind, e.Actor, e.Tenant, e.Job, e.Node, e.Action, e.Detail}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			return nil, fmt.Errorf("entry seq %d: a field is not valid UTF-8", e.Seq)
		}
	}
	if y := e.Time.UTC().Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("entry seq %d: time %v out of range", e.Seq, e.Time)
	}
	return appendCanonical(make([]byte, 0, 128+len(e.Detail)), e.Seq, e.Time.UTC(), &strs), nil
}

// Hash returns the entry's leaf hash, tlog.RecordHash of its canonical
// encoding.
func (e Entry) Hash() (tlog.Hash, error) {
	b, err := e.Canonical()
	if err != nil {
		return tlog.Hash{}, err
	}
	return tlog.RecordHash(b), nil
}

// ParseEntry decodes an entry that must be in canonical form: unknown
// keys, another key order, whitespace or a non-UTC time are rejected
// with ErrMalformed, so that one entry has exactly one encoding.
func ParseEntry(data []byte) (Entry, error) {
	if e, ok := parseEntryFast(data); ok {
		return e, nil
	}
	return parseEntryJSON(data)
}

// parseEntryJSON is ParseEntry with encoding/json: the reference the
// fast path is tested against, and what says why data is malformed.
func parseEntryJSON(data []byte) (Entry, error) {
	var w wireEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Entry{}, fmt.Errorf("%w: entry: %v", ErrMalformed, err)
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: entry seq %d: time: %v", ErrMalformed, w.Seq, err)
	}
	e := Entry{w.Seq, t.UTC(), w.Kind, w.Actor, w.Tenant, w.Job, w.Node, w.Action, w.Detail}
	c, err := e.Canonical()
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !bytes.Equal(c, data) {
		return Entry{}, fmt.Errorf("%w: entry seq %d is not in canonical form", ErrMalformed, w.Seq)
	}
	return e, nil
}
