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

	// Limits bound the cost of each call of Docs (Bytes, Marks, Depth,
	// Keys) and of Convert (Values); the zero value sets none.
	Limits Limits

	// AliasNameLimit cuts the name of an undefined alias in its message
	// (see Truncate); 0 shows it in full.
	AliasNameLimit int

	// Work is what the calls so far cost, for the tests of hostile
	// input.
	Work Work
}

// Work is what reading cost: counted, so that a test can bound it
// where a timing would be flaky.
type Work struct {
	Tokens int // tokens the parser was given; 0 when the input was refused before
	Values int // values counted against Limits.Values (see Budget)
}

// Docs parses data (YAML, which includes JSON) and returns the body of
// each document that holds more than comments and directives, in order.
// A syntax error is reported as "invalid YAML: ..." on its line, an
// input beyond r.Limits as the limit it passes, and Docs returns nil.
func (r *Reader) Docs(data []byte) []ast.Node {
	// a byte-order mark (Windows editors write one) is no part of the
	// first key
	tokens, line, problem := r.Limits.Tokens(bytes.TrimPrefix(data, []byte("\ufeff")))
	if problem != "" {
		r.Errs.Add(r.fileLine(line), "", "%s", problem)
		return nil
	}
	r.Work.Tokens += len(tokens)
	f, err := parser.Parse(tokens, 0)
	if err != nil {
		r.Errs.Add(r.fileLine(syntaxLine(err)), "", "invalid YAML: %s", syntaxMessage(err))
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
		case *ast.DirectiveNode:
			// "%YAML 1.2" before a "---": the parser makes it a document
			// of its own, but it only describes the next one
			continue
		}
		bodies = append(bodies, d.Body)
	}
	return bodies
}

// fileLine turns a line of the data into a line of its file; 0 (the
// whole input) stays 0.
func (r *Reader) fileLine(line int) int {
	if line > 0 {
		return line + r.Offset
	}
	return 0
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
	msg := err.Error()
	if e, ok := err.(interface{ GetMessage() string }); ok {
		msg = e.GetMessage()
	}
	if msg == "found character '\t' that cannot start any token" {
		// the parser's words print the tab raw and do not say what is
		// wrong with it: editors insert tabs where YAML wants spaces
		return "a tab character cannot indent or start a token: YAML indents with spaces only; replace the tab with spaces"
	}
	return msg
}

// Line is n's line in the whole file, 0 if unknown. A mapping's line is
// that of its first key.
func (r *Reader) Line(n ast.Node) int { return r.fileLine(lineOf(n)) }

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
//
// An alias shares its anchor's node, so the tree costs no more than the
// document; but a loader walks the anchor's values again at each alias,
// so they are counted against r.Limits.Values at each one. A document
// that passes the limit is reported on the line where it does and
// converts to null, so that nothing of it is decoded; after that line
// every alias reads as null, so that converting the rest costs no more
// than the rest.
func (r *Reader) Convert(body ast.Node) *Node {
	c := &conv{r: r, anchors: map[string]anchor{}, budget: Budget{Limit: r.Limits.Values}}
	n := c.node(body, 0)
	r.Work.Values += c.budget.Spent
	if c.over {
		return &Node{Kind: KindNull, Line: n.Line}
	}
	return n
}

// conv converts one document.
type conv struct {
	r       *Reader
	anchors map[string]anchor
	budget  Budget
	over    bool // the budget's refusal is reported
}

// anchor is a converted anchored value and the values it counts.
type anchor struct {
	n      *Node
	values int
}

// spend counts n values read at line, reporting the first refusal.
func (y *conv) spend(n, line int) bool {
	if y.budget.Spend(n) {
		return true
	}
	if !y.over {
		y.over = true
		y.add(line, "%s", y.r.Limits.ValuesProblem())
	}
	return false
}

// made counts a node just built (see Limits.Values).
func (y *conv) made(n *Node) *Node {
	cost := 1
	if n.Kind != KindMap && n.Kind != KindSeq {
		cost = Cost(n.Text)
	}
	y.spend(cost, n.Line)
	return n
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
		return y.made(&Node{Kind: KindNull})
	case *ast.NullNode:
		return y.made(&Node{Kind: KindNull, Line: line, Text: "null"})
	case *ast.StringNode:
		if _, ok := PlainFloat(n); ok { // 1e3: a number in YAML 1.2
			return y.made(&Node{Kind: KindFloat, Line: line, Text: n.Value})
		}
		return y.made(&Node{Kind: KindString, Line: line, Text: n.Value})
	case *ast.LiteralNode:
		s := ""
		if n.Value != nil {
			s = n.Value.Value
		}
		return y.made(&Node{Kind: KindString, Line: line, Text: s})
	case *ast.IntegerNode:
		return y.made(integer(n, line))
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return y.made(&Node{Kind: KindFloat, Line: line, Text: tokenText(n)})
	case *ast.BoolNode:
		return y.made(&Node{Kind: KindBool, Line: line, Text: strconv.FormatBool(n.Value), Bool: n.Value})
	case *ast.TagNode:
		v := y.node(n.Value, depth+1)
		if n.Start != nil && n.Start.Value == "!!str" && v.Kind != KindMap && v.Kind != KindSeq && v.Kind != KindNull {
			v.Kind = KindString
		}
		return v
	case *ast.AnchorNode:
		before := y.budget.Spent
		v := y.node(n.Value, depth+1)
		if n.Name != nil && n.Name.GetToken() != nil {
			y.anchors[n.Name.GetToken().Value] = anchor{n: v, values: y.budget.Spent - before}
		}
		return v
	case *ast.AliasNode:
		return y.alias(n, line)
	case *ast.SequenceNode:
		out := y.made(&Node{Kind: KindSeq, Line: line, Items: make([]*Node, 0, len(n.Values))})
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

// alias returns the node of the anchor n names, counting its values
// again; null once the document is over its budget.
func (y *conv) alias(n *ast.AliasNode, line int) *Node {
	name := ""
	if n.Value != nil && n.Value.GetToken() != nil {
		name = n.Value.GetToken().Value
	}
	a, ok := y.anchors[name]
	if !ok {
		if y.r.AliasNameLimit > 0 {
			name = Truncate(name, y.r.AliasNameLimit)
		}
		y.add(line, "alias *%s names no anchor defined above it", name)
		return &Node{Kind: KindNull, Line: line}
	}
	if !y.spend(a.values, line) {
		return &Node{Kind: KindNull, Line: line}
	}
	return a.n
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
// merged mapping's entries that the mapping does not set itself; of two
// merged mappings that set a key, the first wins.
func (y *conv) mapping(line int, kvs []*ast.MappingValueNode, depth int) *Node {
	out := y.made(&Node{Kind: KindMap, Line: line, Entries: make([]Entry, 0, len(kvs))})
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
	var seen KeySet
	for _, e := range merged {
		if !seen.Add(out, e.Key) {
			out.Entries = append(out.Entries, e)
		}
	}
	return out
}

// mergeEntries lists the entries a merge key's value v adds. Their
// values were counted with v's aliases.
func (y *conv) mergeEntries(v *Node, line int) []Entry {
	if y.over { // the document reads as null: reported already
		return nil
	}
	switch v.Kind {
	case KindMap:
		return v.Entries
	case KindSeq:
		var out []Entry
		for _, it := range v.Items {
			if it.Kind != KindMap {
				y.add(line, "merge key << needs mappings (got %s)", it.Describe())
				continue
			}
			out = append(out, it.Entries...)
		}
		return out
	}
	y.add(line, "merge key << needs a mapping or list of mappings (got %s)", v.Describe())
	return nil
}
