package facility

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"github.com/carnot-dc/carnot/internal/yamlin"
)

// maxAliasHops bounds alias and merge-key resolution so that a cyclic or
// deeply chained document cannot loop.
const maxAliasHops = 32

// maxCollected bounds the problems kept; the rest are only counted.
const maxCollected = 1000

// maxValues bounds the mappings and list items decoded, which aliases
// could otherwise multiply beyond any file's size.
const maxValues = 2_000_000

// decoder walks a parsed YAML document and collects every problem it
// meets instead of stopping at the first.
type decoder struct {
	file    string
	errs    Errors
	dropped int // problems beyond maxCollected
	anchors map[string]ast.Node
	work
	tooBig bool // values passed maxValues
}

func (d *decoder) errf(line int, field, format string, args ...any) {
	if len(d.errs) >= maxCollected {
		d.dropped++
		return
	}
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip(s, maxQuoted)
		}
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// maxQuoted bounds the text a message quotes from the file: an alias
// can put one long string in many messages.
const maxQuoted = 1000

// clip cuts s to at most n bytes, at a character boundary, marking the
// cut with "…". It reads no more of s than it keeps.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// spend counts n decoded values and reports whether the budget allows
// them; once it does not, it allows nothing more.
func (d *decoder) spend(n, line int) bool {
	if d.tooBig {
		return false
	}
	d.values += n
	if d.values <= maxValues {
		return true
	}
	d.tooBig = true
	d.errf(line, "", "the file expands (through aliases) to more than %d values (a long string counts one for every %d bytes); write it out with fewer aliases", maxValues, bytesPerValue)
	return false
}

// bytesPerValue is what a string counts against maxValues: every use of
// a string costs its length (a map lookup, a comparison), and an alias
// can use one long string many times.
const bytesPerValue = 64

// collectAnchors records every anchor of the document by name; a later
// anchor of the same name replaces an earlier one.
func (d *decoder) collectAnchors(n ast.Node) {
	d.anchors = map[string]ast.Node{}
	ast.Walk(anchorVisitor(d.anchors), n)
}

type anchorVisitor map[string]ast.Node

func (v anchorVisitor) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil && a.Value != nil {
		v[a.Name.String()] = a.Value
	}
	return v
}

// resolve strips anchors and tags and follows aliases. It returns nil,
// after recording an error, for an alias it cannot follow.
func (d *decoder) resolve(n ast.Node, line int, path string) ast.Node {
	for range maxAliasHops {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			name := ""
			if v.Value != nil {
				name = v.Value.String()
			}
			target, ok := d.anchors[name]
			if !ok {
				d.errf(lineOr(n, line), path, "alias *%s refers to no anchor; define &%s first", name, name)
				return nil
			}
			n = target
		default:
			if text, ok := scalarText(n); ok && len(text) >= bytesPerValue {
				d.spend(len(text)/bytesPerValue, lineOr(n, line))
			}
			return n
		}
	}
	d.errf(lineOr(n, line), path, "aliases nest more than %d deep; simplify the anchors", maxAliasHops)
	return nil
}

// lineOf is the line a node starts on, 0 if unknown.
func lineOf(n ast.Node) int {
	if n == nil {
		return 0
	}
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 && m.Values[0] != nil {
		if l := lineOf(m.Values[0].Key); l > 0 {
			return l
		}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 0
	}
	return tk.Position.Line
}

func lineOr(n ast.Node, fallback int) int {
	if l := lineOf(n); l > 0 {
		return l
	}
	return fallback
}

// kindOf names a node's YAML kind for error messages.
func kindOf(n ast.Node) string {
	switch n.(type) {
	case nil, *ast.NullNode:
		return "empty"
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	}
	return "an unsupported YAML node"
}

// scalarText is the text of a scalar node as written; ok is false for
// collections and nulls.
func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value == nil {
			return "", true
		}
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		if tk := n.GetToken(); tk != nil {
			return tk.Value, true
		}
	}
	return "", false
}

// field is one key of a mapping.
type field struct {
	key   string
	line  int
	value ast.Node // resolved; nil for null or an unresolvable alias
}

// object is a YAML mapping being decoded into a spec. It remembers where
// each key was written so that later checks can name the line.
type object struct {
	d     *decoder
	path  string
	line  int
	byKey map[string]*field
	keys  []string // in document order, merged keys last
}

// object decodes n as a mapping whose keys must be among known (any key
// when known is empty). It records an error and returns nil when n is
// not a mapping.
func (d *decoder) object(n ast.Node, line int, path string, known ...string) *object {
	n = d.resolve(n, line, path)
	if n == nil {
		return nil
	}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.errf(lineOr(n, line), path, "must be a mapping of fields, not %s", kindOf(n))
		return nil
	}
	if !d.spend(1+len(m.Values), lineOr(m, line)) {
		return nil
	}
	o := &object{d: d, path: path, line: lineOr(m, line), byKey: map[string]*field{}}
	o.add(m, 0, map[*ast.MappingNode]bool{m: true})
	for _, k := range o.keys {
		if len(known) > 0 && !slices.Contains(known, k) {
			f := o.byKey[k]
			d.errf(f.line, yamlin.KeyPath(o.path, k), "unknown field%s; known fields: %s", suggest(k, known), strings.Join(known, ", "))
		}
	}
	return o
}

// add adds the entries of m, explicit keys first, then those brought in
// by merge keys ("<<: *anchor") unless already present. merged holds the
// mappings already added: merging one twice adds nothing, and skipping
// it keeps merge keys that repeat an anchor ("<<: [*a, *a, *a]", nested)
// from multiplying the work.
func (o *object) add(m *ast.MappingNode, depth int, merged map[*ast.MappingNode]bool) {
	var merges []*ast.MappingValueNode
	for _, mv := range m.Values {
		if mv == nil || mv.Key == nil {
			continue
		}
		if mv.Key.IsMergeKey() {
			merges = append(merges, mv)
			continue
		}
		line := lineOr(mv.Key, o.line)
		key, ok := scalarText(o.d.resolve(mv.Key, line, o.path))
		if !ok {
			o.d.errf(line, o.path, "keys must be plain strings, not %s", kindOf(mv.Key))
			continue
		}
		if _, dup := o.byKey[key]; dup {
			continue // the parser reports duplicate keys
		}
		o.byKey[key] = &field{key: key, line: line, value: o.value(mv.Value, line, key)}
		o.keys = append(o.keys, key)
	}
	for _, mv := range merges {
		line := lineOr(mv.Key, o.line)
		if depth >= maxAliasHops {
			o.d.errf(line, o.path, "merge keys nest more than %d deep", maxAliasHops)
			return
		}
		src := o.d.resolve(mv.Value, line, o.path)
		var maps []ast.Node
		if s, ok := src.(*ast.SequenceNode); ok {
			maps = s.Values
		} else if src != nil {
			maps = []ast.Node{src}
		}
		if !o.d.spend(len(maps), line) {
			return
		}
		for _, x := range maps {
			mm, ok := o.d.resolve(x, line, o.path).(*ast.MappingNode)
			if !ok {
				o.d.errf(line, o.path, "a merge key (<<) must refer to a mapping or a list of mappings")
				continue
			}
			if merged[mm] {
				continue
			}
			merged[mm] = true
			if !o.d.spend(len(mm.Values), line) {
				return
			}
			o.add(mm, depth+1, merged)
		}
	}
}

func (o *object) value(n ast.Node, line int, key string) ast.Node {
	n = o.d.resolve(n, line, o.sub(key))
	if _, null := n.(*ast.NullNode); null {
		return nil
	}
	return n
}

// sub is the path of a child field. A long key is cut: the path is
// copied into every field below it.
func (o *object) sub(key string) string {
	key = clip(key, 80)
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// has reports whether key is set to a non-null value.
func (o *object) has(key string) bool {
	f, ok := o.byKey[key]
	return ok && f.value != nil
}

// lineOf is the line of key, or of the mapping when key is absent.
func (o *object) lineOf(key string) int {
	if f, ok := o.byKey[key]; ok {
		return f.line
	}
	return o.line
}

func (o *object) errf(key, format string, args ...any) {
	o.d.errf(o.lineOf(key), o.sub(key), format, args...)
}

// missing records that a required key is absent.
func (o *object) missing(key, hint string) {
	o.d.errf(o.line, o.sub(key), "missing required field; %s", hint)
}

// str reads a scalar as text. ok is false when the key is absent or the
// value is not a scalar (an error is recorded in that case).
func (o *object) str(key string) (string, bool) {
	if !o.has(key) {
		return "", false
	}
	v := o.byKey[key].value
	s, ok := scalarText(v)
	if !ok {
		o.errf(key, "must be a string, not %s", kindOf(v))
	}
	return s, ok
}

// reqStr reads a required scalar.
func (o *object) reqStr(key, hint string) string {
	if !o.has(key) {
		o.missing(key, hint)
		return ""
	}
	s, _ := o.str(key)
	return s
}

// integer reads a whole number in [lo, hi].
func (o *object) integer(key string, lo, hi int) (int, bool) {
	if !o.has(key) {
		return 0, false
	}
	v := o.byKey[key].value
	var x int64
	n, ok := v.(*ast.IntegerNode)
	if ok {
		switch iv := n.Value.(type) {
		case int64:
			x = iv
		case uint64:
			ok = iv <= math.MaxInt64
			x = int64(iv)
		}
	}
	if !ok {
		switch v.(type) {
		case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		default:
			if _, num := yamlin.PlainFloat(v); !num {
				o.errf(key, "must be a whole number, not %s", kindOf(v))
				return 0, false
			}
		}
		// a float, .inf, 1e3 or an integer beyond int64: say which
		text, _ := scalarText(v)
		o.errf(key, "%s", yamlin.IntegerProblem(text, int64(lo), int64(hi)))
		return 0, false
	}
	if x < int64(lo) || x > int64(hi) {
		o.errf(key, "%d is out of range; use a value from %d to %d", x, lo, hi)
		return 0, false
	}
	return int(x), true
}

// number reads a finite number in [lo, hi].
func (o *object) number(key string, lo, hi float64) (float64, bool) {
	if !o.has(key) {
		return 0, false
	}
	var x float64
	switch v := o.byKey[key].value.(type) {
	case *ast.IntegerNode:
		switch iv := v.Value.(type) {
		case int64:
			x = float64(iv)
		case uint64:
			x = float64(iv)
		}
	case *ast.FloatNode:
		x = v.Value
	case *ast.InfinityNode, *ast.NanNode:
		text, _ := scalarText(v)
		o.errf(key, "%s is not a finite number", text)
		return 0, false
	default:
		// the parser leaves YAML 1.2 floats without a dot (1e3) and
		// integers beyond uint64 as plain strings
		f, ok := yamlin.PlainFloat(v)
		if !ok {
			o.errf(key, "must be a number, not %s", kindOf(v))
			return 0, false
		}
		if math.IsInf(f, 0) {
			text, _ := scalarText(v)
			o.errf(key, "%s is beyond any usable number", text)
			return 0, false
		}
		x = f
	}
	if math.IsNaN(x) || x < lo || x > hi {
		o.errf(key, "%g is out of range; use a value from %g to %g", x, lo, hi)
		return 0, false
	}
	return x, true
}

// boolean reads true or false.
func (o *object) boolean(key string) (bool, bool) {
	if !o.has(key) {
		return false, false
	}
	v := o.byKey[key].value
	b, ok := v.(*ast.BoolNode)
	if !ok {
		o.errf(key, "must be true or false, not %s", kindOf(v))
		return false, false
	}
	return b.Value, true
}

// item is one element of a list.
type item struct {
	node ast.Node
	line int
	path string
}

// list reads a list. A single scalar is accepted as a list of one when
// scalarOK is set.
func (o *object) list(key string, scalarOK bool) []item {
	if !o.has(key) {
		return nil
	}
	v := o.byKey[key].value
	path := o.sub(key)
	s, ok := v.(*ast.SequenceNode)
	if !ok {
		if _, isScalar := scalarText(v); isScalar && scalarOK {
			return []item{{node: v, line: lineOr(v, o.lineOf(key)), path: path}}
		}
		o.errf(key, "must be a list, not %s", kindOf(v))
		return nil
	}
	if !o.d.spend(len(s.Values), o.lineOf(key)) {
		return nil
	}
	items := make([]item, 0, len(s.Values))
	for i, x := range s.Values {
		p := fmt.Sprintf("%s[%d]", path, i)
		line := lineOr(x, o.lineOf(key))
		items = append(items, item{node: o.d.resolve(x, line, p), line: line, path: p})
	}
	return items
}

// strList reads a list of strings.
func (o *object) strList(key string, scalarOK bool) ([]string, []int) {
	var out []string
	var lines []int
	for _, it := range o.list(key, scalarOK) {
		s, ok := scalarText(it.node)
		if !ok {
			o.d.errf(it.line, it.path, "must be a string, not %s", kindOf(it.node))
			continue
		}
		out = append(out, s)
		lines = append(lines, it.line)
	}
	return out, lines
}

// child decodes the mapping under key; nil when absent or invalid.
func (o *object) child(key string, known ...string) *object {
	if !o.has(key) {
		return nil
	}
	return o.d.object(o.byKey[key].value, o.lineOf(key), o.sub(key), known...)
}

// entries decodes the mapping under key whose keys are names chosen by
// the author (GPU models, quota models); every key is allowed.
func (o *object) entries(key string) *object {
	if !o.has(key) {
		return nil
	}
	return o.d.object(o.byKey[key].value, o.lineOf(key), o.sub(key))
}

// suggest returns ` (did you mean "x"?)` for the closest known key.
func suggest(k string, known []string) string {
	best, dist := "", 3
	for _, c := range known {
		if d := editDistance(k, c); d < dist {
			best, dist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
