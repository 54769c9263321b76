package yamlin

import (
	"fmt"

	"github.com/goccy/go-yaml/token"
)

// The parser's cost is not proportional to its input: its memory grows
// with its tokens (about 250 bytes each, so a file of brackets costs 250
// times its size), its time with the square of a block mapping's keys
// (10,000 keys in one mapping took 2 s) and with the square of the
// nesting depth (20,000 brackets took 1 s and 640 MB). So the words and
// marks of the input are counted before any token is made, and the
// depth and keys are read off the tokens before the parser builds its
// syntax tree.

// marksOver reports the line on which data passes limit words and marks.
// A word is a run of characters other than blanks, ':' and the flow
// indicators [ ] { } , (an anchor, alias, tag or directive counts twice);
// a mark is one of those indicators. The scanner makes at most one token
// for each (a quoted string or a comment of several words makes one), so
// the count bounds its memory before any token is made.
func marksOver(data []byte, limit int) (line int, over bool) {
	n, line := countMarks(data, limit)
	return line, n > limit
}

// countMarks counts the words and marks of data, stopping past limit;
// line is the line it stopped on.
func countMarks(data []byte, limit int) (n, line int) {
	line = 1
	inWord := false
	for _, c := range data {
		switch {
		case c == '\n':
			line++
			inWord = false
		case c == ' ' || c == '\t' || c == '\r':
			inWord = false
		case isFlowIndicator(c) || c == ':':
			n++
			inWord = false
		case !inWord:
			n++
			if c == '&' || c == '*' || c == '!' || c == '%' {
				n++ // an anchor, alias, tag or directive and its name
			}
			inWord = true
		}
		if n > limit {
			return n, line
		}
	}
	return n, line
}

func isFlowIndicator(c byte) bool {
	return c == '[' || c == ']' || c == '{' || c == '}' || c == ','
}

// shape follows the nesting of a token stream: the block collections
// open at each column (a line's indentation says where one ends) and the
// flow collections ([...], {...}) open around the current token.
type shape struct {
	open []blockLevel
	flow int
	// the limits, and the most seen so far
	depthLimit, keysLimit int
	deepest, widest       int
}

type blockLevel struct {
	col  int
	seq  bool // a block sequence; else a block mapping
	keys int  // keys so far, for a mapping
}

// walk follows tokens until a limit is passed, returning the line and
// the problem.
func (s *shape) walk(tokens token.Tokens) (int, string) {
	line, first := 0, -1 // first: column of the line's first token after its dashes
	for _, tk := range tokens {
		if tk.Position == nil || tk.Type == token.CommentType {
			continue
		}
		if tk.Position.Line != line {
			line, first = tk.Position.Line, -1
		}
		col := tk.Position.Column
		var msg string
		switch tk.Type {
		case token.DocumentHeaderType, token.DocumentEndType:
			s.open, s.flow = s.open[:0], 0
			continue
		case token.SequenceStartType, token.MappingStartType:
			s.flow++
			msg = s.depthProblem()
		case token.SequenceEndType, token.MappingEndType:
			s.flow = max(s.flow-1, 0)
		case token.SequenceEntryType:
			if s.flow == 0 {
				if msg := s.entry(col); msg != "" {
					return line, msg
				}
			}
			continue // first stays unset: the next token may be a key
		case token.MappingKeyType: // "? key"
			if s.flow == 0 && first < 0 {
				msg = s.key(col)
			}
		case token.MappingValueType:
			// the ':' of a key that starts its line, after any
			// dashes; a ':' first on its line belongs to a "? key"
			if s.flow == 0 && first >= 0 {
				msg = s.key(first)
			}
		}
		if first < 0 {
			first = col
		}
		if msg != "" {
			return line, msg
		}
	}
	return 0, ""
}

// pop closes the block collections indented deeper than col.
func (s *shape) pop(col int) {
	for len(s.open) > 0 && s.open[len(s.open)-1].col > col {
		s.open = s.open[:len(s.open)-1]
	}
}

func (s *shape) top(col int) *blockLevel {
	if n := len(s.open); n > 0 && s.open[n-1].col == col {
		return &s.open[n-1]
	}
	return nil
}

// entry is a "-" at col: an item of the sequence there, or the first.
func (s *shape) entry(col int) string {
	s.pop(col)
	if t := s.top(col); t != nil && t.seq {
		return ""
	}
	// a sequence may sit at its parent key's column
	s.open = append(s.open, blockLevel{col: col, seq: true})
	return s.depthProblem()
}

// key is a mapping key at col: one more key of the mapping there, or its
// first.
func (s *shape) key(col int) string {
	s.pop(col)
	if t := s.top(col); t != nil && t.seq {
		s.open = s.open[:len(s.open)-1] // a sequence at its key's column ends
	}
	if t := s.top(col); t != nil {
		t.keys++
		s.widest = max(s.widest, t.keys)
		if t.keys > s.keysLimit {
			return fmt.Sprintf("a mapping with more than %d keys, the limit; the YAML parser's time grows with the square of a mapping's keys (a flow mapping {...} has no such cost)", s.keysLimit)
		}
		return ""
	}
	s.open = append(s.open, blockLevel{col: col, keys: 1})
	s.widest = max(s.widest, 1)
	return s.depthProblem()
}

func (s *shape) depthProblem() string {
	d := len(s.open) + s.flow
	s.deepest = max(s.deepest, d)
	if d > s.depthLimit {
		return fmt.Sprintf("nesting deeper than %d levels, the limit; the YAML parser's time grows with the square of the depth", s.depthLimit)
	}
	return ""
}
