package yamlin

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// show renders a tree compactly: scalars as text:kind@line, mappings as
// {key@line=value ...}, lists as [item ...].
func show(n *Node) string {
	switch n.Kind {
	case KindMap:
		var b strings.Builder
		b.WriteString("{")
		for i, e := range n.Entries {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%s@%d=%s", e.Key, e.Line, show(e.Val))
		}
		return b.String() + "}"
	case KindSeq:
		items := make([]string, len(n.Items))
		for i, it := range n.Items {
			items[i] = show(it)
		}
		return "[" + strings.Join(items, " ") + "]"
	case KindInt:
		return fmt.Sprintf("%d:%s@%d", n.Int, n.Kind, n.Line)
	case KindBool:
		return fmt.Sprintf("%t:%s@%d", n.Bool, n.Kind, n.Line)
	}
	return fmt.Sprintf("%s:%s@%d", n.Text, n.Kind, n.Line)
}

// read converts every document of src with r's settings.
func read(r Reader, src string) (trees []string, errs []string) {
	c := &Collector{File: "f.yaml"}
	r.Errs = c
	for _, body := range r.Docs([]byte(src)) {
		trees = append(trees, show(r.Convert(body)))
	}
	if err := c.Err(); err != nil {
		for _, e := range err.(ErrorList) {
			errs = append(errs, e.Error())
		}
	}
	return trees, errs
}

func TestReader(t *testing.T) {
	for _, tc := range []struct {
		name      string
		r         Reader
		src       string
		wantTrees []string
		wantErrs  []string
	}{
		{
			name:      "scalars",
			src:       "a: 1\nb: x\nc: true\nd: 1.5\ne: null\nf: !!str 7\ng: 18446744073709551615\n",
			wantTrees: []string{"{a@1=1:integer@1 b@2=x:string@2 c@3=true:boolean@3 d@4=1.5:number@4 e@5=null:null@5 f@6=7:string@6 g@7=18446744073709551615:number@7}"},
		},
		{
			// a byte-order mark made the first key "\ufeffa"
			name:      "byte-order mark",
			src:       "\ufeffa: 1\n",
			wantTrees: []string{"{a@1=1:integer@1}"},
		},
		{
			name:      "anchors, aliases and merge keys; own keys win",
			src:       "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nlist: [*b]\n",
			wantTrees: []string{"{base@1={x@1=1:integer@1 y@1=2:integer@1} use@2={y@4=3:integer@4 x@1=1:integer@1} list@5=[{x@1=1:integer@1 y@1=2:integer@1}]}"},
		},
		{
			name:      "merge of a list of mappings",
			src:       "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n",
			wantTrees: []string{"{a@1={x@1=1:integer@1} b@2={y@2=2:integer@2} c@3={x@1=1:integer@1 y@2=2:integer@2}}"},
		},
		{
			name:      "bad merges",
			src:       "a: &a 1\nb:\n  <<: *a\nc:\n  <<: [*a]\n",
			wantTrees: []string{"{a@1=1:integer@1 b@2={} c@4={}}"},
			wantErrs: []string{
				"f.yaml:3: merge key << needs a mapping or list of mappings (got 1)",
				"f.yaml:5: merge key << needs mappings (got 1)",
			},
		},
		{
			name:      "undefined alias, name in full",
			src:       "a: *" + strings.Repeat("n", 50) + "\n",
			wantTrees: []string{"{a@1=:null@1}"},
			wantErrs:  []string{"f.yaml:1: alias *" + strings.Repeat("n", 50) + " names no anchor defined above it"},
		},
		{
			name:      "undefined alias, name cut",
			r:         Reader{AliasNameLimit: 4},
			src:       "a: *abcdefg\n",
			wantTrees: []string{"{a@1=:null@1}"},
			wantErrs:  []string{"f.yaml:1: alias *abcd… names no anchor defined above it"},
		},
		{
			name:      "offset, documents, comments",
			r:         Reader{Offset: 10},
			src:       "# only a comment\n---\na: 1\n---\n- 2\n",
			wantTrees: []string{"{a@13=1:integer@13}", "[2:integer@15]"},
		},
		{
			name:     "syntax error, with offset",
			r:        Reader{Offset: 10},
			src:      "a: [1,\n",
			wantErrs: []string{"f.yaml:11: invalid YAML: sequence end token ']' not found"},
		},
		{
			// the parser's own words show the tab as a raw one, and
			// do not say that YAML indents with spaces only
			name:     "tab indentation",
			src:      "a: 1\n\tb: 2\n",
			wantErrs: []string{"f.yaml:2: invalid YAML: a tab character cannot indent or start a token: YAML indents with spaces only; replace the tab with spaces"},
		},
		{
			name:      "mapping key that is a list (through an alias)",
			src:       "k: &k [1]\n*k : v\n",
			wantTrees: []string{"{k@1=[1:integer@1]}"},
			wantErrs:  []string{"f.yaml:1: mapping keys must be plain scalars"},
		},
		{
			name:      "nesting",
			src:       strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2) + "\n",
			wantTrees: []string{strings.Repeat("[", MaxDepth+1) + ":null@1" + strings.Repeat("]", MaxDepth+1)},
			wantErrs:  []string{"f.yaml:1: nesting deeper than 32 levels"},
		},
		{
			// with limits, before the parser builds its syntax tree
			name:     "nesting, limited",
			r:        Reader{Limits: Limits{Depth: MaxDepth}, Offset: 2},
			src:      "a: 1\nb: " + strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2) + "\n",
			wantErrs: []string{"f.yaml:4: nesting deeper than 32 levels, the limit; the YAML parser's time grows with the square of the depth"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trees, errs := read(tc.r, tc.src)
			if diff := cmp.Diff(tc.wantTrees, trees); diff != "" {
				t.Errorf("trees (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErrs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	long := strings.Repeat("é", 50)
	for _, tc := range []struct {
		n    *Node
		want string
	}{
		{&Node{Kind: KindString, Text: "x"}, `"x"`},
		{&Node{Kind: KindString, Text: long}, `"` + strings.Repeat("é", 40) + `…"`},
		{&Node{Kind: KindInt, Text: "0x10"}, "0x10"},
		{&Node{Kind: KindMap}, "a mapping"},
		{&Node{Kind: KindSeq}, "a list"},
		{&Node{Kind: KindNull, Text: "~"}, "null"},
	} {
		if got := tc.n.Describe(); got != tc.want {
			t.Errorf("Describe(%s) = %s, want %s", show(tc.n), got, tc.want)
		}
	}
	if got := Truncate(strings.Repeat("é", 30), 40); got != strings.Repeat("é", 30) {
		t.Errorf("Truncate cut a string of 30 characters (60 bytes): %q", got)
	}
}
