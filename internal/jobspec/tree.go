package jobspec

import (
	"fmt"
	"math"
	"strconv"

	"github.com/goccy/go-yaml/ast"
)

// node is the small, format-neutral tree the decoder reads. The YAML
// reader (goccy/go-yaml's AST) and the JSONL scanner both produce it, so
// the two formats share one decoder and one set of messages.
type node struct {
	kind    nodeKind
	line    int
	text    string // scalars: the value as written, strings unquoted
	i       int64  // kindInt
	b       bool   // kindBool
	entries []entry
	items   []*node
}

type entry struct {
	key  string
	line int
	val  *node
}

type nodeKind uint8

const (
	kindNull nodeKind = iota
	kindString
	kindInt
	kindFloat
	kindBool
	kindMap
	kindSeq
)

func (k nodeKind) String() string {
	return [...]string{"null", "string", "integer", "number", "boolean", "mapping", "list"}[k]
}

// maxDepth bounds nesting; a job is at most four levels deep.
const maxDepth = 32

// yamlConv converts one YAML document to a node tree.
type yamlConv struct {
	c       *errs
	anchors map[string]*node
	offset  int // lines before the document, added to every line
}

func (y *yamlConv) doc(d *ast.DocumentNode) *node {
	if d == nil || d.Body == nil {
		return nil
	}
	switch d.Body.(type) {
	case *ast.CommentGroupNode, *ast.CommentNode:
		return nil
	}
	return y.conv(d.Body, 0)
}

func lineOf(n ast.Node) int {
	if n == nil {
		return 0
	}
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		return lineOf(m.Values[0].Key)
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// line is n's line in the whole file.
func (y *yamlConv) line(n ast.Node) int {
	if l := lineOf(n); l > 0 {
		return l + y.offset
	}
	return 0
}

func (y *yamlConv) conv(n ast.Node, depth int) *node {
	line := y.line(n)
	if depth > maxDepth {
		y.c.add(line, "", "nesting deeper than %d levels", maxDepth)
		return &node{kind: kindNull, line: line}
	}
	switch n := n.(type) {
	case nil:
		return &node{kind: kindNull}
	case *ast.NullNode:
		return &node{kind: kindNull, line: line, text: "null"}
	case *ast.StringNode:
		return &node{kind: kindString, line: line, text: n.Value}
	case *ast.LiteralNode:
		s := ""
		if n.Value != nil {
			s = n.Value.Value
		}
		return &node{kind: kindString, line: line, text: s}
	case *ast.IntegerNode:
		out := &node{kind: kindInt, line: line, text: tokenText(n)}
		switch v := n.Value.(type) {
		case int64:
			out.i = v
		case uint64:
			if v > math.MaxInt64 {
				out.kind = kindFloat
			} else {
				out.i = int64(v)
			}
		default:
			out.kind = kindFloat
		}
		return out
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return &node{kind: kindFloat, line: line, text: tokenText(n)}
	case *ast.BoolNode:
		return &node{kind: kindBool, line: line, text: strconv.FormatBool(n.Value), b: n.Value}
	case *ast.TagNode:
		v := y.conv(n.Value, depth+1)
		if n.Start != nil && n.Start.Value == "!!str" && v.kind != kindMap && v.kind != kindSeq && v.kind != kindNull {
			v.kind = kindString
		}
		return v
	case *ast.AnchorNode:
		v := y.conv(n.Value, depth+1)
		if n.Name != nil {
			y.anchors[n.Name.GetToken().Value] = v
		}
		return v
	case *ast.AliasNode:
		name := ""
		if n.Value != nil && n.Value.GetToken() != nil {
			name = n.Value.GetToken().Value
		}
		if v, ok := y.anchors[name]; ok {
			return v
		}
		y.c.add(line, "", "alias *%s names no anchor defined above it", name)
		return &node{kind: kindNull, line: line}
	case *ast.SequenceNode:
		out := &node{kind: kindSeq, line: line, items: make([]*node, 0, len(n.Values))}
		for _, v := range n.Values {
			out.items = append(out.items, y.conv(v, depth+1))
		}
		return out
	case *ast.MappingNode:
		return y.mapping(line, n.Values, depth)
	case *ast.MappingValueNode:
		return y.mapping(line, []*ast.MappingValueNode{n}, depth)
	case *ast.CommentGroupNode, *ast.CommentNode:
		return &node{kind: kindNull, line: line}
	default:
		y.c.add(line, "", "unsupported YAML construct %s", n.Type())
		return &node{kind: kindNull, line: line}
	}
}

func tokenText(n ast.Node) string {
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// mapping converts key/value pairs. Merge keys (<<: *defaults) add the
// merged mapping's entries that the mapping does not set itself.
func (y *yamlConv) mapping(line int, kvs []*ast.MappingValueNode, depth int) *node {
	out := &node{kind: kindMap, line: line, entries: make([]entry, 0, len(kvs))}
	var merged []entry
	for _, kv := range kvs {
		if kv == nil {
			continue
		}
		v := y.conv(kv.Value, depth+1)
		var key ast.Node = kv.Key
		if k, ok := key.(*ast.MappingKeyNode); ok {
			key = k.Value
		}
		if _, ok := key.(*ast.MergeKeyNode); ok {
			merged = append(merged, y.mergeEntries(v, y.line(kv.Key))...)
			continue
		}
		k := y.conv(key, depth+1)
		if k.kind == kindMap || k.kind == kindSeq {
			y.c.add(k.line, "", "mapping keys must be plain scalars")
			continue
		}
		out.entries = append(out.entries, entry{key: k.text, line: k.line, val: v})
	}
	for _, e := range merged {
		if out.get(e.key) == nil {
			out.entries = append(out.entries, e)
		}
	}
	return out
}

func (y *yamlConv) mergeEntries(v *node, line int) []entry {
	switch v.kind {
	case kindMap:
		return v.entries
	case kindSeq:
		var out []entry
		for _, it := range v.items {
			if it.kind != kindMap {
				y.c.add(line, "", "merge key << needs mappings (got a %s)", it.kind)
				continue
			}
			out = append(out, it.entries...)
		}
		return out
	}
	y.c.add(line, "", "merge key << needs a mapping or list of mappings (got a %s)", v.kind)
	return nil
}

// get returns the value of key in a mapping, or nil.
func (n *node) get(key string) *node {
	for i := range n.entries {
		if n.entries[i].key == key {
			return n.entries[i].val
		}
	}
	return nil
}

// describe is a value as shown in messages: its text, quoted for strings.
func (n *node) describe() string {
	switch n.kind {
	case kindString:
		return strconv.Quote(truncate(n.text, 40))
	case kindMap, kindSeq:
		return "a " + n.kind.String()
	case kindNull:
		return "null"
	}
	return truncate(n.text, 40)
}

func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return fmt.Sprintf("%s…", string(r[:max]))
}
