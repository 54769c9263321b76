package yamlin

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
)

// treeShape is the oracle for the token walk: the nesting depth and the
// most keys of a block mapping, read off the parsed syntax tree.
func treeShape(t *testing.T, y string) (deepest, widest int) {
	t.Helper()
	f, err := parser.ParseBytes([]byte(y), 0)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, y)
	}
	var walk func(n ast.Node, depth int)
	walk = func(n ast.Node, depth int) {
		switch n := n.(type) {
		case *ast.MappingNode:
			depth++
			if !n.IsFlowStyle {
				widest = max(widest, len(n.Values))
			}
			for _, v := range n.Values {
				walk(v.Key, depth)
				walk(v.Value, depth)
			}
		case *ast.MappingValueNode: // a mapping of one key
			depth++
			widest = max(widest, 1)
			walk(n.Key, depth)
			walk(n.Value, depth)
		case *ast.SequenceNode:
			depth++
			for _, v := range n.Values {
				walk(v, depth)
			}
		case *ast.AnchorNode:
			walk(n.Value, depth)
		case *ast.TagNode:
			walk(n.Value, depth)
		case *ast.MappingKeyNode:
			walk(n.Value, depth)
		}
		deepest = max(deepest, depth)
	}
	for _, d := range f.Docs {
		if d != nil {
			walk(d.Body, 0)
		}
	}
	return deepest, widest
}

func walkShape(y string) shape {
	s := shape{depthLimit: 1 << 30, keysLimit: 1 << 30}
	s.walk(lexer.Tokenize(y))
	return s
}

// TestShapeOracle checks the token walk against the syntax tree on the
// YAML files of the repository (facilities, jobs, states, scenario sets)
// and on YAML written every way the parser reads it. The walk may count a level more (a sequence at its
// key's column is a level of its own to it), never less.
func TestShapeOracle(t *testing.T) {
	inputs := map[string]string{
		"compact":       "a:\n- x: 1\n  y: 2\n- x: 3\nb: 1\nc:\n  - 1\n",
		"indented":      "a:\n  - x: 1\n    y: 2\n  -   x: 3\n      y: 4\n      z: 5\nb: {p: 1, q: [1, 2, {r: 1}]}\n",
		"nested dashes": "- - - a: 1\n      b: 2\n    - c\n- d\n",
		"anchors":       "&x a: 1\n&yy b: 2\n!!str c: 3\nd: &z\n  e: 1\n  f: *z\n",
		"merge":         "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n  z: 3\n",
		"explicit keys": "? a\n: 1\n? b\n: 2\nc: 3\n",
		"block scalars": "a: |\n  x: 1\n  y: 2\nb: >\n  - z\nc: 1\n",
		"comments":      "# x: 1\na: 1 # b: 2\n# - c\nb: 2\n",
		"multiline":     "a: one\n  two three\nb: [1,\n  2,\n  3]\nc: {x: 1,\n  y: 2}\nd: 4\n",
		"documents":     "a: 1\nb: 2\n---\nc: 3\n",
		"quoted keys":   "\"a b\": 1\n'c: d': 2\ne: 3\n",
		"deep block":    "a:\n b:\n  c:\n   d:\n    - e:\n       - [f, {g: [h]}]\n",
		"empty values":  "a:\nb:\nc: ~\nd:\n  e:\n",
		"seq of seqs":   "a:\n- - 1\n  - 2\n- - 3\n",
		"long mapping": strings.Repeat("k: 1\n", 1) + func() string {
			var b strings.Builder
			for i := range 50 {
				b.WriteString("k" + string(rune('a'+i%26)) + strings.Repeat("x", i) + ": 1\n")
			}
			return b.String()
		}(),
		"list of groups": "racks:\n  - id: r\n    nodes:\n      - names: a\n        gpus: 1\n      - names: b\n        gpus: 2\n        cpus: 3\n  - id: s\n",
	}
	var files []string
	for _, dir := range []string{"", "plan", "live"} {
		more, _ := filepath.Glob(filepath.Join("..", "..", "examples", dir, "*.yaml"))
		files = append(files, more...)
	}
	files = append(files, filepath.Join("..", "bundled", "data", "facility.yaml"), filepath.Join("..", "scenario", "testdata", "lab4.yaml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = string(b)
	}
	for name, y := range inputs {
		deepest, widest := treeShape(t, y)
		s := walkShape(y)
		if s.widest != widest {
			t.Errorf("%s: widest mapping %d keys, the tree says %d", name, s.widest, widest)
		}
		if s.deepest != deepest {
			t.Errorf("%s: deepest %d, the tree says %d", name, s.deepest, deepest)
		}
		checkMarks(t, name, y)
	}
	// tokens split where words do not: ':' inside flow mappings and after
	// quotes, directives, markers
	for _, y := range []string{"{a:b,c:d}", "x: {a:1}", "{a::b}", "{:a}", `"a":1`, `{"a":1}`, `["a":1]`, "{'a':1,'b':2}",
		"%YAML 1.2\n---\na: 1\n...\n", "!<tag:x> a: 1", "{a: [b:c]}", "[a,b,,c]", "? a\n: b", "a: |-\n  x\n", "&a [*a, *b]"} {
		checkMarks(t, y, y)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 1000 {
		var b strings.Builder
		g := &yamlGen{rng: rng, b: &b, step: 1 + rng.IntN(4)}
		g.blockMap(g.tree(0).kids, 0, false)
		y := b.String()
		deepest, widest := treeShape(t, y)
		s := walkShape(y)
		checkMarks(t, fmt.Sprint("random ", i), y)
		if s.deepest != deepest || s.widest != widest {
			t.Fatalf("random %d: walk %d deep, %d wide; the tree says %d, %d:\n%s", i, s.deepest, s.widest, deepest, widest, y)
		}
	}
}

// yamlGen writes random YAML: block and flow collections, sequences
// indented or at their key's column, anchors and comments.
type yamlGen struct {
	rng  *rand.Rand
	b    *strings.Builder
	step int // indentation
	n    int // names
}

type genNode struct {
	seq  bool
	kids []*genNode // nil: a scalar
}

func (g *yamlGen) tree(depth int) *genNode {
	n := &genNode{seq: depth > 0 && g.rng.IntN(2) == 0}
	if depth > 0 && (depth > 5 || g.rng.IntN(3) == 0) {
		return &genNode{}
	}
	for range 1 + g.rng.IntN(4) {
		n.kids = append(n.kids, g.tree(depth+1))
	}
	return n
}

func (g *yamlGen) name() string {
	g.n++
	prefix := []string{"", "", "&a" + fmt.Sprint(g.n) + " ", "!!str "}[g.rng.IntN(4)]
	return prefix + "k" + fmt.Sprint(g.n)
}

func (g *yamlGen) line(indent int, s string) {
	g.b.WriteString(strings.Repeat(" ", indent) + s)
	if g.rng.IntN(8) == 0 {
		g.b.WriteString(" # x: 1")
	}
	g.b.WriteString("\n")
}

// value writes n after "key:" or "- " already on the line at column
// indent; inline says whether a block mapping may start on that line.
func (g *yamlGen) value(n *genNode, indent int, inline bool) {
	switch {
	case n.kids == nil:
		g.line(0, " v")
	case g.rng.IntN(4) == 0:
		g.line(0, " "+g.flow(n))
	case n.seq:
		g.b.WriteString("\n")
		ind := indent + g.step
		if !inline && g.rng.IntN(2) == 0 {
			ind = indent // a sequence at its key's column
		}
		g.blockSeq(n.kids, ind)
	default:
		g.b.WriteString("\n")
		g.blockMap(n.kids, indent+g.step, false)
	}
}

// blockMap writes a mapping at column indent; its first key goes on the
// current line when inline is set.
func (g *yamlGen) blockMap(kids []*genNode, indent int, inline bool) {
	for i, k := range kids {
		if i > 0 || !inline {
			g.b.WriteString(strings.Repeat(" ", indent))
		}
		g.b.WriteString(g.name() + ":")
		g.value(k, indent, false)
	}
}

func (g *yamlGen) blockSeq(kids []*genNode, indent int) {
	for _, k := range kids {
		g.b.WriteString(strings.Repeat(" ", indent) + "-")
		if k.kids != nil && !k.seq && g.rng.IntN(2) == 0 {
			// "- key: v" with the mapping's other keys below
			g.b.WriteString(" ")
			g.blockMap(k.kids, indent+2, true)
			continue
		}
		g.value(k, indent, true)
	}
}

func (g *yamlGen) flow(n *genNode) string {
	var parts []string
	for _, k := range n.kids {
		v := "v"
		if k.kids != nil {
			v = g.flow(k)
		}
		if !n.seq {
			v = g.name() + ": " + v
		}
		parts = append(parts, v)
	}
	if n.seq {
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// checkMarks checks that the words and marks of y bound its tokens, the
// memory that marksOver guards.
func checkMarks(t *testing.T, name, y string) {
	t.Helper()
	marks, _ := countMarks([]byte(y), math.MaxInt)
	tokens := len(lexer.Tokenize(y))
	if tokens > marks {
		t.Errorf("%s: %d tokens, %d words and marks", name, tokens, marks)
	}
}
