package state

import (
	"fmt"
	"math"
	"strconv"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// node is the small tree the decoder reads: goccy/go-yaml's AST reduced
// to what a state file holds, each value with its line. It is the
// approach of internal/jobspec (tree.go), for one YAML document.
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

// maxDepth bounds nesting; a state file is at most four levels deep.
const maxDepth = 32

// parse reads data as one YAML document. It returns nil, after recording
// the problem, when the document cannot be read.
func parse(data []byte, c *errs) (root *node) {
	defer func() {
		// The parser is third-party code; a panic on hostile input
		// becomes an error, never a crash.
		if r := recover(); r != nil {
			root = nil
			c.add(0, "", "YAML parser failed: %v", r)
		}
	}()
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		c.add(syntaxLine(err), "", "invalid YAML: %s", syntaxMessage(err))
		return nil
	}
	y := &yamlConv{c: c, anchors: map[string]*node{}}
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		switch d.Body.(type) {
		case *ast.CommentGroupNode, *ast.CommentNode:
			continue
		}
		if root != nil {
			c.add(lineOf(d.Body), "", "a state file holds one YAML document; remove the second one (after ---)")
			return nil
		}
		root = y.conv(d.Body, 0)
	}
	return root
}

// syntaxLine digs the line out of a goccy/go-yaml error.
func syntaxLine(err error) int {
	if e, ok := err.(interface{ GetToken() *token.Token }); ok {
		if tk := e.GetToken(); tk != nil && tk.Position != nil {
			return tk.Position.Line
		}
	}
	return 0
}

func syntaxMessage(err error) string {
	if e, ok := err.(interface{ GetMessage() string }); ok {
		return e.GetMessage()
	}
	return err.Error()
}

// yamlConv converts one YAML document to a node tree.
type yamlConv struct {
	c       *errs
	anchors map[string]*node
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

func (y *yamlConv) conv(n ast.Node, depth int) *node {
	line := lineOf(n)
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
		if n.Name != nil && n.Name.GetToken() != nil {
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
		y.c.add(line, "", "alias *%s names no anchor defined above it", truncate(name, 40))
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
			merged = append(merged, y.mergeEntries(v, lineOf(kv.Key))...)
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
