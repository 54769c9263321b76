package jobspec

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/carnot-dc/carnot/internal/yamlin"
)

// jsonScanner turns one JSONL line into a node tree. It is a small
// recursive-descent reader, several times faster than going through the
// YAML parser, so that a million-job JSONL file loads in seconds. Every
// node gets the line's number.
type jsonScanner struct {
	b    []byte
	pos  int
	line int
	// Across lines: nodes are handed out from a slab that each line
	// reuses (the decoder copies out what it keeps), and short strings
	// are interned, so that repeated keys and values cost nothing.
	slab   []yamlin.Node
	used   int
	top    []yamlin.Entry // the entries of each line's top-level object
	intern map[string]string
	// budget counts the values of the line against lineLimits.Values,
	// which bounds the nodes a line makes
	budget yamlin.Budget
}

// maxInterned bounds the intern table; later strings are not added.
const maxInterned = 1 << 16

func newJSONScanner() *jsonScanner {
	return &jsonScanner{intern: make(map[string]string, 256)}
}

func (s *jsonScanner) node(n yamlin.Node) *yamlin.Node {
	cost := 1
	if n.Kind != yamlin.KindMap && n.Kind != yamlin.KindSeq {
		cost = yamlin.Cost(n.Text)
	}
	s.budget.Spend(cost)
	if s.used == len(s.slab) {
		s.slab = make([]yamlin.Node, max(64, 2*len(s.slab)))
		s.used = 0
	}
	p := &s.slab[s.used]
	s.used++
	*p = n
	return p
}

// knownKey returns the job-spec field name b spells, without a map
// lookup or an allocation: keys are most of the strings of a JSONL file.
func knownKey(b []byte) string {
	switch string(b) {
	case "level":
		return "level"
	case "required":
		return "required"
	case "id":
		return "id"
	case "kind":
		return "kind"
	case "tenant":
		return "tenant"
	case "priority_class":
		return "priority_class"
	case "replicas":
		return "replicas"
	case "min_replicas":
		return "min_replicas"
	case "gpus":
		return "gpus"
	case "gpu_model":
		return "gpu_model"
	case "cpus":
		return "cpus"
	case "memory_gib":
		return "memory_gib"
	case "preemptible":
		return "preemptible"
	case "checkpoint_grace":
		return "checkpoint_grace"
	case "runtime_limit":
		return "runtime_limit"
	case "jurisdictions":
		return "jurisdictions"
	case "data_class":
		return "data_class"
	case "earliest_start":
		return "earliest_start"
	case "deadline":
		return "deadline"
	case "topology":
		return "topology"
	case "exclusive_node":
		return "exclusive_node"
	case "submit_time":
		return "submit_time"
	case "command":
		return "command"
	case "env":
		return "env"
	case "workdir":
		return "workdir"
	case "restart":
		return "restart"
	case "max_retries":
		return "max_retries"
	case "depends_on":
		return "depends_on"
	}
	return ""
}

func (s *jsonScanner) str(b []byte) string {
	if k := knownKey(b); k != "" {
		return k
	}
	if v, ok := s.intern[string(b)]; ok {
		return v
	}
	v := string(b)
	if len(s.intern) < maxInterned && len(b) <= 64 {
		s.intern[v] = v
	}
	return v
}

type jsonError struct {
	col int
	msg string
}

func (e *jsonError) Error() string { return fmt.Sprintf("column %d: %s", e.col, e.msg) }

// overError is a line beyond lineLimits.Values.
type overError struct{}

func (*overError) Error() string { return "too many values" }

// parseLine parses one complete JSON value from b. The nodes it returns
// are valid until the next call.
func (s *jsonScanner) parseLine(b []byte, line int) (*yamlin.Node, error) {
	s.b, s.pos, s.line, s.used = b, 0, line, 0
	s.budget = yamlin.Budget{Limit: lineLimits.Values}
	n, err := s.value(0)
	if s.budget.Over() {
		return nil, &overError{}
	}
	if err != nil {
		return nil, err
	}
	s.space()
	if s.pos < len(s.b) {
		return nil, s.fail("unexpected %s after the value", s.what())
	}
	return n, nil
}

func (s *jsonScanner) fail(format string, args ...any) error {
	return &jsonError{col: s.pos + 1, msg: fmt.Sprintf(format, args...)}
}

func (s *jsonScanner) what() string {
	if s.pos >= len(s.b) {
		return "end of line"
	}
	r, _ := utf8.DecodeRune(s.b[s.pos:])
	return strconv.QuoteRune(r)
}

func (s *jsonScanner) space() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

func (s *jsonScanner) value(depth int) (*yamlin.Node, error) {
	if s.budget.Over() {
		return nil, &overError{}
	}
	if depth > lineLimits.Depth {
		return nil, s.fail("nesting deeper than %d levels, the limit", lineLimits.Depth)
	}
	s.space()
	if s.pos >= len(s.b) {
		return nil, s.fail("unexpected end of line, expected a value")
	}
	switch c := s.b[s.pos]; {
	case c == '{':
		return s.object(depth)
	case c == '[':
		return s.array(depth)
	case c == '"':
		str, err := s.quoted()
		if err != nil {
			return nil, err
		}
		return s.node(yamlin.Node{Kind: yamlin.KindString, Line: s.line, Text: str}), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	for _, lit := range [...]struct {
		text string
		n    yamlin.Node
	}{
		{"true", yamlin.Node{Kind: yamlin.KindBool, Bool: true}},
		{"false", yamlin.Node{Kind: yamlin.KindBool}},
		{"null", yamlin.Node{Kind: yamlin.KindNull}},
	} {
		if len(s.b)-s.pos >= len(lit.text) && string(s.b[s.pos:s.pos+len(lit.text)]) == lit.text {
			s.pos += len(lit.text)
			n := lit.n
			n.Line, n.Text = s.line, lit.text
			return s.node(n), nil
		}
	}
	return nil, s.fail("unexpected %s, expected a value", s.what())
}

func (s *jsonScanner) object(depth int) (*yamlin.Node, error) {
	s.pos++ // {
	n := s.node(yamlin.Node{Kind: yamlin.KindMap, Line: s.line})
	if depth == 0 {
		n.Entries = s.top[:0]
		defer func() { s.top = n.Entries }()
	}
	s.space()
	if s.pos < len(s.b) && s.b[s.pos] == '}' {
		s.pos++
		return n, nil
	}
	var seen yamlin.KeySet
	for {
		s.space()
		if s.pos >= len(s.b) || s.b[s.pos] != '"' {
			return nil, s.fail("unexpected %s, expected a quoted key", s.what())
		}
		keyCol := s.pos + 1
		key, err := s.quoted()
		if err != nil {
			return nil, err
		}
		s.budget.Spend(yamlin.Cost(key))
		s.space()
		if s.pos >= len(s.b) || s.b[s.pos] != ':' {
			return nil, s.fail("unexpected %s, expected ':'", s.what())
		}
		s.pos++
		v, err := s.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if seen.Add(n, key) {
			return nil, &jsonError{col: keyCol, msg: fmt.Sprintf("key %q appears twice", yamlin.Truncate(key, 40))}
		}
		n.Entries = append(n.Entries, yamlin.Entry{Key: key, Line: s.line, Val: v})
		s.space()
		if s.pos >= len(s.b) {
			return nil, s.fail("unexpected end of line, expected ',' or '}'")
		}
		switch s.b[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return n, nil
		default:
			return nil, s.fail("unexpected %s, expected ',' or '}'", s.what())
		}
	}
}

func (s *jsonScanner) array(depth int) (*yamlin.Node, error) {
	s.pos++ // [
	n := s.node(yamlin.Node{Kind: yamlin.KindSeq, Line: s.line})
	s.space()
	if s.pos < len(s.b) && s.b[s.pos] == ']' {
		s.pos++
		return n, nil
	}
	for {
		v, err := s.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.Items = append(n.Items, v)
		s.space()
		if s.pos >= len(s.b) {
			return nil, s.fail("unexpected end of line, expected ',' or ']'")
		}
		switch s.b[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return n, nil
		default:
			return nil, s.fail("unexpected %s, expected ',' or ']'", s.what())
		}
	}
}

// quoted reads a quoted string. Strings without escapes are sliced out
// directly; the rare ones with escapes go through encoding/json.
func (s *jsonScanner) quoted() (string, error) {
	start := s.pos
	s.pos++ // opening quote
	escaped, ascii := false, true
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		switch {
		case c == '\\':
			escaped = true
			s.pos += 2
			continue
		case c == '"':
			s.pos++
			raw := s.b[start:s.pos]
			if !escaped {
				if !ascii && !utf8.Valid(raw) {
					return "", &jsonError{col: start + 1, msg: "string is not valid UTF-8"}
				}
				return s.str(raw[1 : len(raw)-1]), nil
			}
			if at, esc := loneSurrogate(raw); at >= 0 {
				return "", &jsonError{col: start + at + 1, msg: fmt.Sprintf(`%s is half of a UTF-16 surrogate pair, no character; write the character itself or both halves`, esc)}
			}
			var out string
			if err := json.Unmarshal(raw, &out); err != nil {
				return "", &jsonError{col: start + 1, msg: "bad escape in string"}
			}
			return out, nil
		case c < 0x20:
			return "", s.fail("control character in string")
		case c >= 0x80:
			ascii = false
		}
		s.pos++
	}
	s.pos = len(s.b)
	return "", &jsonError{col: start + 1, msg: "unterminated string"}
}

// loneSurrogate finds a \uXXXX escape of a UTF-16 surrogate without its
// other half in the quoted string raw, which encoding/json would turn
// into U+FFFD without a word: its offset in raw and its text, or -1.
func loneSurrogate(raw []byte) (int, string) {
	surrogate := func(i int) (rune, bool) { // the \uXXXX at raw[i:], if any
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		return rune(v), err == nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := surrogate(i)
		if !ok {
			i++ // another escape: skip the escaped character
			continue
		}
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if lo, ok := surrogate(i + 6); ok && lo >= 0xDC00 && lo < 0xE000 {
				i += 11
				continue
			}
			return i, string(raw[i : i+6])
		case r >= 0xDC00 && r < 0xE000:
			return i, string(raw[i : i+6])
		}
		i += 5
	}
	return -1, ""
}

// number reads a JSON number; integers that fit int64 become yamlin.KindInt.
func (s *jsonScanner) number() (*yamlin.Node, error) {
	start := s.pos
	if s.b[s.pos] == '-' {
		s.pos++
	}
	digits := func() int {
		n := 0
		for s.pos < len(s.b) && s.b[s.pos] >= '0' && s.b[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	intStart := s.pos
	if digits() == 0 {
		return nil, s.fail("malformed number")
	}
	if s.b[intStart] == '0' && s.pos-intStart > 1 {
		return nil, &jsonError{col: start + 1, msg: "number with a leading zero"}
	}
	isInt := true
	if s.pos < len(s.b) && s.b[s.pos] == '.' {
		isInt = false
		s.pos++
		if digits() == 0 {
			return nil, s.fail("malformed number")
		}
	}
	if s.pos < len(s.b) && (s.b[s.pos] == 'e' || s.b[s.pos] == 'E') {
		isInt = false
		s.pos++
		if s.pos < len(s.b) && (s.b[s.pos] == '+' || s.b[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			return nil, s.fail("malformed number")
		}
	}
	text := s.str(s.b[start:s.pos])
	n := s.node(yamlin.Node{Kind: yamlin.KindFloat, Line: s.line, Text: text})
	if isInt {
		if v, err := strconv.ParseInt(text, 10, 64); err == nil {
			n.Kind, n.Int = yamlin.KindInt, v
		}
	}
	return n, nil
}
