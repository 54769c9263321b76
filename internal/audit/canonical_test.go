package audit

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// pieces are what random strings are made of: everything encoding/json
// escapes, multi-byte characters and plain text.
var pieces = []string{"a", "acme", " ", "\"", "\\", "/", "<", ">", "&", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f",
	"\x7f", "é", "日本", "\u2028", "\u2029", "\u2027", "\u202a", "😀", "\ufffd", "\\u0041", "\\n"}

func randString(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(8) {
		if rng.IntN(4) == 0 {
			b.WriteRune(rune(rng.IntN(0x11000)))
			continue
		}
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	if !utf8.ValidString(b.String()) { // a surrogate from WriteRune
		return strings.ToValidUTF8(b.String(), "?")
	}
	return b.String()
}

func randEntry(rng *rand.Rand) Entry {
	ns := []int64{0, 1, 500_000_000, 123_456_789, rng.Int64N(1e9)}[rng.IntN(5)]
	return Entry{
		Seq:  []int64{0, 1, rng.Int64N(1 << 40), 1<<63 - 1}[rng.IntN(4)],
		Time: time.Unix(rng.Int64N(253402300799), ns).In(time.FixedZone("x", 3600*(rng.IntN(25)-12))),
		Kind: randString(rng), Actor: randString(rng), Tenant: randString(rng), Job: randString(rng),
		Node: randString(rng), Action: randString(rng), Detail: randString(rng),
	}
}

// jsonCanonical is the canonical encoding as defined: json.Marshal of the
// wireEntry.
func jsonCanonical(t *testing.T, e Entry) []byte {
	t.Helper()
	b, err := json.Marshal(wireEntry{e.Seq, e.Time.UTC().Format(time.RFC3339Nano), e.Kind, e.Actor, e.Tenant,
		e.Job, e.Node, e.Action, e.Detail})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The hand-written encoding is json.Marshal's, and the fast parser reads
// it back to the entry encoding/json reads.
func TestCanonicalIsJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		e := randEntry(rng)
		want := jsonCanonical(t, e)
		got, err := e.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("entry %d: Canonical\n%s\nwant (json.Marshal)\n%s", i, got, want)
		}
		fast, ok := parseEntryFast(got)
		if !ok {
			t.Fatalf("entry %d: the fast path refused %s", i, got)
		}
		slow, err := parseEntryJSON(got)
		if err != nil {
			t.Fatal(err)
		}
		if fast != slow {
			t.Fatalf("entry %d: fast path read %+v, encoding/json %+v", i, fast, slow)
		}
	}
}

// FuzzParseEntry: whatever the fast path accepts, encoding/json accepts
// as the same entry; it may only refuse more (and then ParseEntry falls
// back to encoding/json).
func FuzzParseEntry(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		b, _ := randEntry(rng).Canonical()
		f.Add(b)
	}
	b, _ := sample(5, "a").Canonical()
	f.Add(b)
	f.Add(bytes.Replace(b, []byte(`"kind"`), []byte(`"Kind"`), 1))
	f.Add([]byte(`{"seq":-0,"time":"2026-03-01T00:00:00Z","kind":"","actor":"","tenant":"","job":"","node":"","action":"","detail":"\u00e9"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := parseEntryFast(data)
		slow, err := parseEntryJSON(data)
		if ok && (err != nil || fast != slow) {
			t.Fatalf("fast path accepted %q as %+v; encoding/json: %+v, %v", data, fast, slow, err)
		}
	})
}

// TestParseEntryMutations changes one byte of canonical entries in
// every way: the fast path never accepts what encoding/json refuses.
func TestParseEntryMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		b, err := randEntry(rng).Canonical()
		if err != nil {
			t.Fatal(err)
		}
		for i := range b {
			for _, c := range []byte{'"', '\\', 'u', '0', 'a', ' ', '}', ',', 0x80, 0xe2} {
				m := bytes.Clone(b)
				m[i] = c
				fast, ok := parseEntryFast(m)
				slow, err := parseEntryJSON(m)
				if ok && (err != nil || fast != slow) {
					t.Fatalf("fast path accepted %q as %+v; encoding/json: %+v, %v", m, fast, slow, err)
				}
			}
		}
	}
}

// checkEntryFast feeds line to the fast path of a verifier that has read
// the header and the entries before seq, and to line() of another in the
// same state: what the fast path accepts, line() accepts to the same
// effect.
func checkEntryFast(t *testing.T, head []string, b []byte) {
	t.Helper()
	fast, slow := &verifier{}, &verifier{}
	for i, l := range head {
		for _, s := range []*verifier{fast, slow} {
			if err := s.line(i+1, []byte(l)); err != nil {
				t.Fatal(err)
			}
		}
	}
	n := len(head) + 1
	if !fast.entryFast(n, bytes.Clone(b)) {
		return
	}
	if err := slow.line(n, b); err != nil {
		t.Fatalf("the fast path accepted %q, line() says %v", b, err)
	}
	if fast.n != slow.n || !slices.Equal(fast.hashes, slow.hashes) || slow.gap != nil {
		t.Fatalf("after %q: the fast path is at entry %d, line() at %d (gap %v)", b, fast.n, slow.n, slow.gap)
	}
}

// TestEntryFastMatchesLine changes entry lines of an export byte by byte
// and in the ways a JSON decoder is lenient (key case, whitespace,
// duplicate keys): the fast path never accepts what line() refuses.
func TestEntryFastMatchesLine(t *testing.T) {
	l := newLog(t)
	grow(t, l, newKey(t, "carnot-test"), 0, 3, 1000, "a")
	ls := lines(export(t, l, nil))
	head := ls[:3] // the header and entries 0 and 1
	good := []byte(ls[3])
	checkEntryFast(t, head, good)
	for i := range good {
		for _, c := range []byte{'"', '\\', 'E', ' ', '}', '{', ',', '2', 0x80} {
			m := bytes.Clone(good)
			m[i] = c
			checkEntryFast(t, head, m)
			checkEntryFast(t, head, slices.Insert(bytes.Clone(good), i, c))
		}
	}
	for _, m := range []string{
		strings.Replace(string(good), `{"entry"`, `{"Entry"`, 1),
		strings.Replace(string(good), `{"entry":`, `{"entry": `, 1),
		string(good) + " ",
		strings.TrimSuffix(string(good), "}") + `,"entry":` + strings.TrimPrefix(string(good), `{"entry":`),
		strings.TrimSuffix(string(good), "}") + `,"checkpoint":"x"}`,
		`{"entry":null}`,
	} {
		checkEntryFast(t, head, []byte(m))
	}
}
