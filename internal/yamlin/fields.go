package yamlin

import (
	"slices"
	"strconv"
	"strings"
)

// Fields walks the mapping n at path: unknown and repeated keys are
// recorded in c, each known key goes to set. what names the mapping in
// messages ("a node state"). It reports false when n is not a mapping.
func (c *Collector) Fields(n *Node, path, what string, known []string, set func(e Entry)) bool {
	if n.Kind != KindMap {
		c.Add(n.Line, path, "must be a mapping with the fields of %s (got %s)", what, n.Describe())
		return false
	}
	c.Entries(n, path, func(e Entry) {
		if !slices.Contains(known, e.Key) {
			c.Unknown(e.Line, path, e.Key, "; "+what+" has "+strings.Join(known, ", "))
			return
		}
		set(e)
	})
	return true
}

// Unknown records that key of the mapping at path is not one it takes.
// The error's path names the key (KeyPath), as every other error names
// its field: a caller (the API's field of an error) takes it from
// there. hint, when not empty, follows "unknown field": ` (did you mean
// "gpus"?)`, "; a node state has …".
func (c *Collector) Unknown(line int, path, key, hint string) {
	c.Add(line, KeyPath(path, key), "unknown field%s", hint)
}

// KeyPath is path.key for a key the file gave but the loader does not
// take, the key cut at 40 characters and, when it would not print as
// itself (a control character or escape sequence, a newline, bytes
// that are not UTF-8, a quote or backslash) or is empty, quoted as Go
// quotes a string: such a key, printed raw in an error, would garble
// the terminal or forge a line of the error.
func KeyPath(path, key string) string {
	k := Truncate(key, 40)
	if q := strconv.Quote(k); k == "" || q[1:len(q)-1] != k {
		k = q
	}
	return Join(path, k)
}

// Entries calls each with the entries of mapping n at path, but for a
// key given again, which it records in c ("given twice (first on line
// N)") instead.
func (c *Collector) Entries(n *Node, path string, each func(e Entry)) {
	seen := make(map[string]int, len(n.Entries))
	for _, e := range n.Entries {
		if first, dup := seen[e.Key]; dup {
			c.Add(e.Line, Join(path, e.Key), "given twice (first on line %d)", first)
			continue
		}
		seen[e.Key] = e.Line
		each(e)
	}
}

// Join appends a field name to a dotted path ("" is the root).
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Integer reads a whole number from lo to hi at path, recording a problem
// in c otherwise; a number that is not one is named as IntegerProblem
// says.
func (c *Collector) Integer(v *Node, path string, lo, hi int64) (int64, bool) {
	switch v.Kind {
	case KindInt:
	case KindFloat:
		c.Add(v.Line, path, "%s", IntegerProblem(v.Text, lo, hi))
		return 0, false
	default:
		c.Add(v.Line, path, "must be an integer from %d to %d (got %s)", lo, hi, v.Describe())
		return 0, false
	}
	if v.Int < lo || v.Int > hi {
		c.Add(v.Line, path, "must be from %d to %d (got %d)", lo, hi, v.Int)
		return 0, false
	}
	return v.Int, true
}
