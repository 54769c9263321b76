package yamlin

import (
	"bytes"
	"math"
	"strconv"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxDepth bounds nesting; the loaders' files are a few levels deep.
const MaxDepth = 32

// Reader turns YAML into Node trees, reporting problems to Errs.
//
// The parser is third-party code: callers recover from a panic in Docs
// or Convert and report it on the line they choose.
type Reader struct {
	Errs   *Collector
	Offset int // lines before the data in its file, added to every line

	// AliasNameLimit cuts the name of an undefined alias in its message
	// (see Truncate); 0 shows it in full.
	AliasNameLimit int
}

// Docs parses data (YAML, which includes JSON) and returns the body of
// each document that holds more than comments, in order. A syntax error
// is reported as "invalid YAML: ..." on its line, and Docs returns nil.
func (r *Reader) Docs(data []byte) []ast.Node {
	// a byte-order mark (Windows editors write one) is no part of the
	// first key
	f, err := parser.ParseBytes(bytes.TrimPrefix(data, []byte("\ufeff")), 0)
	if err != nil {
		line := syntaxLine(err)
		if line > 0 {
			line += r.Offset
		}
		r.Errs.Add(line, "", "invalid YAML: %s", syntaxMessage(err))
		return nil
	}
	var bodies []ast.Node
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		switch d.Body.(type) {
		case *ast.CommentGroupNode, *ast.CommentNode:
			continue
		}
		bodies = append(bodies, d.Body)
	}
	return bodies
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

// Line is n's line in the whole file, 0 if unknown. A mapping's line is
// that of its first key.
func (r *Reader) Line(n ast.Node) int {
	if l := lineOf(n); l > 0 {
		return l + r.Offset
	}
	return 0
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

// Convert turns one document body (from Docs) into a Node tree. Anchors
// are those of the document; an alias must follow its anchor.
func (r *Reader) Convert(body ast.Node) *Node {
	c := &conv{r: r, anchors: map[string]*Node{}}
	return c.node(body, 0)
}

// conv converts one document.
type conv struct {
	r       *Reader
	anchors map[string]*Node
}

func (y *conv) add(line int, format string, args ...any) {
	y.r.Errs.Add(line, "", format, args...)
}

func (y *conv) node(n ast.Node, depth int) *Node {
	line := y.r.Line(n)
	if depth > MaxDepth {
		y.add(line, "nesting deeper than %d levels", MaxDepth)
		return &Node{Kind: KindNull, Line: line}
	}
	switch n := n.(type) {
	case nil:
		return &Node{Kind: KindNull}
	case *ast.NullNode:
		return &Node{Kind: KindNull, Line: line, Text: "null"}
	case *ast.StringNode:
		if _, ok := PlainFloat(n); ok { // 1e3: a number in YAML 1.2
			return &Node{Kind: KindFloat, Line: line, Text: n.Value}
		}
		return &Node{Kind: KindString, Line: line, Text: n.Value}
	case *ast.LiteralNode:
		s := ""
		if n.Value != nil {
			s = n.Value.Value
		}
		return &Node{Kind: KindString, Line: line, Text: s}
	case *ast.IntegerNode:
		return integer(n, line)
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return &Node{Kind: KindFloat, Line: line, Text: tokenText(n)}
	case *ast.BoolNode:
		return &Node{Kind: KindBool, Line: line, Text: strconv.FormatBool(n.Value), Bool: n.Value}
	case *ast.TagNode:
		v := y.node(n.Value, depth+1)
		if n.Start != nil && n.Start.Value == "!!str" && v.Kind != KindMap && v.Kind != KindSeq && v.Kind != KindNull {
			v.Kind = KindString
		}
		return v
	case *ast.AnchorNode:
		v := y.node(n.Value, depth+1)
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
		if y.r.AliasNameLimit > 0 {
			name = Truncate(name, y.r.AliasNameLimit)
		}
		y.add(line, "alias *%s names no anchor defined above it", name)
		return &Node{Kind: KindNull, Line: line}
	case *ast.SequenceNode:
		out := &Node{Kind: KindSeq, Line: line, Items: make([]*Node, 0, len(n.Values))}
		for _, v := range n.Values {
			out.Items = append(out.Items, y.node(v, depth+1))
		}
		return out
	case *ast.MappingNode:
		return y.mapping(line, n.Values, depth)
	case *ast.MappingValueNode:
		return y.mapping(line, []*ast.MappingValueNode{n}, depth)
	case *ast.CommentGroupNode, *ast.CommentNode:
		return &Node{Kind: KindNull, Line: line}
	default:
		y.add(line, "unsupported YAML construct %s", n.Type())
		return &Node{Kind: KindNull, Line: line}
	}
}

// integer converts an integer; one beyond int64 is a number.
func integer(n *ast.IntegerNode, line int) *Node {
	out := &Node{Kind: KindInt, Line: line, Text: tokenText(n)}
	switch v := n.Value.(type) {
	case int64:
		out.Int = v
	case uint64:
		if v > math.MaxInt64 {
			out.Kind = KindFloat
		} else {
			out.Int = int64(v)
		}
	default:
		out.Kind = KindFloat
	}
	return out
}

func tokenText(n ast.Node) string {
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// mapping converts key/value pairs. Merge keys (<<: *defaults) add the
// merged mapping's entries that the mapping does not set itself.
func (y *conv) mapping(line int, kvs []*ast.MappingValueNode, depth int) *Node {
	out := &Node{Kind: KindMap, Line: line, Entries: make([]Entry, 0, len(kvs))}
	var merged []Entry
	for _, kv := range kvs {
		if kv == nil {
			continue
		}
		v := y.node(kv.Value, depth+1)
		var key ast.Node = kv.Key
		if k, ok := key.(*ast.MappingKeyNode); ok {
			key = k.Value
		}
		if _, ok := key.(*ast.MergeKeyNode); ok {
			merged = append(merged, y.mergeEntries(v, y.r.Line(kv.Key))...)
			continue
		}
		k := y.node(key, depth+1)
		if k.Kind == KindMap || k.Kind == KindSeq {
			y.add(k.Line, "mapping keys must be plain scalars")
			continue
		}
		out.Entries = append(out.Entries, Entry{Key: k.Text, Line: k.Line, Val: v})
	}
	for _, e := range merged {
		if out.Get(e.Key) == nil {
			out.Entries = append(out.Entries, e)
		}
	}
	return out
}

func (y *conv) mergeEntries(v *Node, line int) []Entry {
	switch v.Kind {
	case KindMap:
		return v.Entries
	case KindSeq:
		var out []Entry
		for _, it := range v.Items {
			if it.Kind != KindMap {
				y.add(line, "merge key << needs mappings (got a %s)", it.Kind)
				continue
			}
			out = append(out, it.Entries...)
		}
		return out
	}
	y.add(line, "merge key << needs a mapping or list of mappings (got a %s)", v.Kind)
	return nil
}
