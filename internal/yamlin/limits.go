package yamlin

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"unicode/utf8"

	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"
)

// Limits bound what reading one input costs, so that a small or hostile
// file is refused with an error instead of taking minutes or gigabytes.
// Each limit is counted, never timed: a loaded machine reads a file as an
// idle one does. A limit of 0 is off. Every loader sets its own (see its
// documentation page); the Reader applies them, and a loader that reads
// another format (internal/jobspec's JSON Lines) counts with Budget.
type Limits struct {
	// Bytes bounds the size of the input.
	Bytes int
	// Marks bounds its words and marks (see marksOver), which bound the
	// tokens the YAML parser makes, about 250 bytes each.
	Marks int
	// Depth bounds the nesting of collections and Keys the keys of one
	// block mapping, read off the tokens before the parser builds its
	// syntax tree (see shape.go).
	Depth, Keys int
	// Values bounds the values of one document as the loader will walk
	// them: every mapping, list item and scalar counts one, a string one
	// more for every 64 bytes, and an alias all the values of its anchor
	// again (so do merge keys, through their aliases).
	Values int
	// What names the input in messages: "the file" when empty, "the
	// document", "the line".
	What string
	// Advice ends the messages about size (Bytes, Marks and Values): what
	// to do with an input that is too large, e.g. "split it into several
	// facilities".
	Advice string
}

// bytesPerValue is what a string counts against Limits.Values beyond its
// one: each use of a string costs its length (a copy, a comparison), and
// an alias can use one long string many times.
const bytesPerValue = 64

// Cost is what a scalar written as text counts against Limits.Values.
func Cost(text string) int { return 1 + len(text)/bytesPerValue }

func (l Limits) what() string {
	if l.What == "" {
		return "the file"
	}
	return l.What
}

// advise ends a message about size with l.Advice.
func (l Limits) advise(msg string) string {
	if l.Advice == "" {
		return msg
	}
	return msg + "; " + l.Advice
}

// SizeProblem is the message for an input of size bytes, above l.Bytes.
func (l Limits) SizeProblem(size int64) string {
	return l.advise(fmt.Sprintf("%s is %d bytes, above the %d limit", l.what(), size, l.Bytes))
}

// ValuesProblem is the message for an input that passes l.Values.
func (l Limits) ValuesProblem() string {
	return l.advise(fmt.Sprintf("%s has more than %d values, the limit, counting a string once more for every %d bytes and an alias as all the values of its anchor", l.what(), l.Values, bytesPerValue))
}

// Tokens checks data against Bytes, Marks, Depth and Keys, in that order,
// and returns its tokens for the parser (parser.Parse). When data passes
// a limit it returns no tokens, the line on which it does and the
// problem; no token is made for Bytes and Marks, and the parser never
// runs. Data that is not UTF-8 is refused the same way, at its first
// bad byte: the lexer would turn each into U+FFFD, so that a file saved
// in Latin-1 read with its accented letters replaced.
func (l Limits) Tokens(data []byte) (tokens token.Tokens, line int, problem string) {
	if l.Bytes > 0 && len(data) > l.Bytes {
		return nil, bytes.Count(data[:l.Bytes], []byte("\n")) + 1, l.SizeProblem(int64(len(data)))
	}
	if !utf8.Valid(data) {
		line, problem := notUTF8(data)
		return nil, line, problem
	}
	if l.Marks > 0 {
		if line, over := marksOver(data, l.Marks); over {
			return nil, line, l.advise(fmt.Sprintf("%s has more than %d words and marks, the limit; the YAML parser keeps about 250 bytes for each", l.what(), l.Marks))
		}
	}
	tokens = lexer.Tokenize(string(data))
	if l.Depth > 0 || l.Keys > 0 {
		s := shape{depthLimit: orNone(l.Depth), keysLimit: orNone(l.Keys)}
		if line, msg := s.walk(tokens); msg != "" {
			return nil, line, msg
		}
	}
	return tokens, 0, ""
}

// notUTF8 finds the first byte of data that is not UTF-8 and words the
// problem.
func notUTF8(data []byte) (line int, problem string) {
	i := 0
	for i < len(data) {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		i += n
	}
	start := bytes.LastIndexByte(data[:i], '\n') + 1
	line = bytes.Count(data[:start], []byte("\n")) + 1
	if i == len(data) { // utf8.Valid said otherwise; be safe
		return line, "invalid UTF-8: save the file as UTF-8"
	}
	return line, fmt.Sprintf("invalid UTF-8 at column %d (byte %#02x): save the file as UTF-8", i-start+1, data[i])
}

func orNone(limit int) int {
	if limit <= 0 {
		return math.MaxInt
	}
	return limit
}

// ReadFile reads the file at path, refusing one above l.Bytes without
// reading it whole: a regular file by its size, anything else (a pipe,
// a device) after l.Bytes+1 bytes. The refusal is an ErrorList naming
// the file; an error reading it is returned as is.
func (l Limits) ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if l.Bytes > 0 && st.Size() > int64(l.Bytes) {
			return nil, ErrorList{{File: path, Msg: l.SizeProblem(st.Size())}}
		}
		buf.Grow(int(st.Size()) + bytes.MinRead)
	}
	return l.read(path, f, &buf)
}

// Read reads r (standard input), named name in messages, as ReadFile
// reads a file that is not a regular one.
func (l Limits) Read(name string, r io.Reader) ([]byte, error) {
	return l.read(name, r, &bytes.Buffer{})
}

func (l Limits) read(name string, r io.Reader, buf *bytes.Buffer) ([]byte, error) {
	if l.Bytes > 0 {
		r = io.LimitReader(r, int64(l.Bytes)+1)
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	if l.Bytes > 0 && buf.Len() > l.Bytes {
		return nil, ErrorList{{File: name, Msg: l.advise(fmt.Sprintf("%s is more than %d bytes, the limit", l.what(), l.Bytes))}}
	}
	return buf.Bytes(), nil
}

// Budget counts values against a limit (Limits.Values) for one input.
type Budget struct {
	Limit int // 0: no limit
	Spent int // values counted so far; it stops growing at the limit
	over  bool
}

// Spend counts n values and reports whether they fit. Once they do not,
// nothing more does: the first refusal is the one to report.
func (b *Budget) Spend(n int) bool {
	if b.over {
		return false
	}
	// saturate: with no limit, aliases of aliases could overflow
	b.Spent = min(b.Spent+n, math.MaxInt/2)
	if b.Limit > 0 && b.Spent > b.Limit {
		b.Spent, b.over = b.Limit+1, true
		return false
	}
	return true
}

// Over reports whether the budget has refused a value.
func (b *Budget) Over() bool { return b.over }
