package audit

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"
)

// The canonical encoding, written and read by hand. It is byte for byte
// what encoding/json writes for a wireEntry (canonical_test.go checks it
// against json.Marshal on random entries), but Verify reads a million
// entries, and reflection made up most of its time.

// canonicalKeys are the keys of wireEntry in order, each with what comes
// before it: field i of an encoding starts with canonicalKeys[i].
var canonicalKeys = [9]string{`{"seq":`, `,"time":`, `,"kind":`, `,"actor":`, `,"tenant":`,
	`,"job":`, `,"node":`, `,"action":`, `,"detail":`}

// appendCanonical appends the canonical encoding of an entry: seq, its
// time's RFC 3339 text and its seven strings (Kind, Actor, Tenant, Job,
// Node, Action, Detail), which must be valid UTF-8.
func appendCanonical[S ~string | ~[]byte](dst []byte, seq int64, t time.Time, strs *[7]S) []byte {
	dst = append(dst, canonicalKeys[0]...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, canonicalKeys[1]...)
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	for i := range strs {
		dst = append(dst, canonicalKeys[i+2]...)
		dst = appendJSONString(dst, strs[i])
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes a string
// (with HTML escaping, its default): ", \ and control characters
// escaped, <, > and & as \u003c…, U+2028 and U+2029 as \u2028 and
// \u2029. s must be valid UTF-8.
func appendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
		if b == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[s[i+2]&0xF])
			i += 3
			start = i
			continue
		}
		i++
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// rawEntry is an entry read from its canonical encoding, before any
// check: its time's text and its strings, unescaped, as bytes.
type rawEntry struct {
	seq  int64
	time []byte
	strs [7][]byte
}

// parseCanonical reads data laid out as appendCanonical writes it,
// unescaping strings onto buf, and returns the entry and buf. It does not
// check that data is canonical (check does); false means only that data
// is not laid out that way, and the caller falls back to encoding/json,
// whose error is the one to report.
func parseCanonical(data, buf []byte) (rawEntry, []byte, bool) {
	var r rawEntry
	rest, ok := bytes.CutPrefix(data, []byte(canonicalKeys[0]))
	if !ok {
		return r, buf, false
	}
	i := 0
	for i < len(rest) && (rest[i] == '-' || '0' <= rest[i] && rest[i] <= '9') {
		i++
	}
	seq, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil {
		return r, buf, false
	}
	r.seq, rest = seq, rest[i:]
	for k := 1; k < len(canonicalKeys); k++ {
		if rest, ok = bytes.CutPrefix(rest, []byte(canonicalKeys[k])); !ok {
			return r, buf, false
		}
		var s []byte
		if s, rest, buf, ok = cutJSONString(rest, buf); !ok {
			return r, buf, false
		}
		if k == 1 {
			r.time = s
		} else {
			r.strs[k-2] = s
		}
	}
	return r, buf, len(rest) == 1 && rest[0] == '}'
}

// cutJSONString reads the quoted string data starts with, as
// appendJSONString writes them, and returns its contents (data itself
// when nothing is escaped; otherwise unescaped onto buf), what follows
// and buf.
func cutJSONString(data, buf []byte) (s, rest, _ []byte, ok bool) {
	if len(data) == 0 || data[0] != '"' {
		return nil, nil, buf, false
	}
	data = data[1:]
	end := bytes.IndexByte(data, '"')
	if end < 0 {
		return nil, nil, buf, false
	}
	if bytes.IndexByte(data[:end], '\\') < 0 {
		return data[:end], data[end+1:], buf, true
	}
	start := len(buf)
	for i := 0; ; {
		if i == len(data) {
			return nil, nil, buf, false
		}
		switch c := data[i]; c {
		case '"':
			return buf[start:len(buf):len(buf)], data[i+1:], buf, true
		case '\\':
			if i+1 == len(data) {
				return nil, nil, buf, false
			}
			switch e := data[i+1]; e {
			case '"', '\\':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				if i+6 > len(data) {
					return nil, nil, buf, false
				}
				r, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 16)
				if err != nil || utf8.RuneLen(rune(r)) < 0 {
					return nil, nil, buf, false // a surrogate: never written
				}
				buf = utf8.AppendRune(buf, rune(r))
				i += 4
			default:
				return nil, nil, buf, false
			}
			i += 2
		default:
			buf = append(buf, c)
			i++
		}
	}
}

// check returns the entry r is if data, which it was read from, is its
// canonical encoding: the checks Canonical makes, and the bytes
// compared. scratch is a buffer to encode into; it is returned, grown.
func (r *rawEntry) check(data, scratch []byte) (time.Time, []byte, bool) {
	if r.seq < 0 {
		return time.Time{}, scratch, false
	}
	for _, s := range r.strs {
		if !utf8.Valid(s) {
			return time.Time{}, scratch, false
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(r.time))
	if err != nil {
		return time.Time{}, scratch, false
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, scratch, false
	}
	scratch = appendCanonical(scratch[:0], r.seq, t, &r.strs)
	return t, scratch, bytes.Equal(scratch, data)
}

// parseEntryFast is ParseEntry for an entry in canonical form; false
// means data may be anything else (ParseEntry then says what).
func parseEntryFast(data []byte) (Entry, bool) {
	r, _, ok := parseCanonical(data, nil)
	if !ok {
		return Entry{}, false
	}
	t, _, ok := r.check(data, nil)
	if !ok {
		return Entry{}, false
	}
	s := r.strs
	return Entry{r.seq, t, string(s[0]), string(s[1]), string(s[2]), string(s[3]),
		string(s[4]), string(s[5]), string(s[6])}, true
}
