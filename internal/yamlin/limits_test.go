package yamlin

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokensLimits(t *testing.T) {
	for _, tt := range []struct {
		name string
		l    Limits
		y    string
		line int
		want string // "" for tokens
	}{
		{"off", Limits{}, strings.Repeat("[", 100) + strings.Repeat("]", 100), 0, ""},
		{"bytes", Limits{Bytes: 10}, "a: 1\nb: 2\nc: 3\n", 3, "the file is 15 bytes, above the 10 limit"},
		{"bytes at the limit", Limits{Bytes: 15}, "a: 1\nb: 2\nc: 3\n", 0, ""},
		{"marks", Limits{Marks: 5, What: "the document", Advice: "split it"}, "a: 1\nb: 2\nc: 3\n", 2, "the document has more than 5 words and marks, the limit; the YAML parser keeps about 250 bytes for each; split it"},
		{"marks at the limit", Limits{Marks: 6}, "a: 1\nb: 2\n", 0, ""},
		{"depth", Limits{Depth: 2}, "a:\n  b:\n    c: 1\n", 3, "nesting deeper than 2 levels, the limit"},
		{"depth at the limit", Limits{Depth: 3}, "a:\n  b:\n    c: 1\n", 0, ""},
		{"keys", Limits{Keys: 2}, "a: 1\nb: 2\nc: 3\n", 3, "a mapping with more than 2 keys, the limit"},
		{"flow keys", Limits{Keys: 2}, "{a: 1, b: 2, c: 3}\n", 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tokens, line, problem := tt.l.Tokens([]byte(tt.y))
			switch {
			case tt.want == "" && (problem != "" || len(tokens) == 0):
				t.Errorf("refused on line %d: %s", line, problem)
			case tt.want != "" && (line != tt.line || !strings.HasPrefix(problem, tt.want) || tokens != nil):
				t.Errorf("line %d, %q, %d tokens; want line %d, %q", line, problem, len(tokens), tt.line, tt.want)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("x", size)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	l := Limits{Bytes: 100, Advice: "split it"}
	if b, err := l.ReadFile(write("ok", 100)); err != nil || len(b) != 100 {
		t.Errorf("at the limit: %d bytes, %v", len(b), err)
	}
	big := write("big", 101)
	_, err := l.ReadFile(big)
	if diff := cmp.Diff([]string{big + ": the file is 101 bytes, above the 100 limit; split it"}, lines(t, err)); diff != "" {
		t.Errorf("above the limit (-want +got):\n%s", diff)
	}
	if b, err := (Limits{}).ReadFile(big); err != nil || len(b) != 101 {
		t.Errorf("no limit: %d bytes, %v", len(b), err)
	}
	if _, err := l.ReadFile(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
	// a device of no size is read only up to the limit
	if runtime.GOOS != "windows" {
		_, err := l.ReadFile("/dev/zero")
		if diff := cmp.Diff([]string{"/dev/zero: the file is more than 100 bytes, the limit; split it"}, lines(t, err)); diff != "" {
			t.Errorf("/dev/zero (-want +got):\n%s", diff)
		}
	}
}

func TestBudget(t *testing.T) {
	b := Budget{Limit: 10}
	if !b.Spend(4) || !b.Spend(6) || b.Over() {
		t.Fatalf("10 of 10 refused: %+v", b)
	}
	if b.Spend(1) || !b.Over() || b.Spend(0) {
		t.Fatalf("11 of 10 allowed: %+v", b)
	}
	if b.Spent != 11 {
		t.Errorf("spent %d, want it to stop past the limit", b.Spent)
	}
	u := Budget{}
	for range 3 {
		u.Spend(1 << 62)
	}
	if u.Over() || u.Spent <= 0 {
		t.Errorf("no limit: %+v, want it to saturate without overflow", u)
	}
}

// convert reads one document with l, returning its tree, errors and work.
func convert(l Limits, src string) (tree string, errs []string, w Work) {
	c := &Collector{File: "f.yaml"}
	r := Reader{Errs: c, Limits: l}
	if docs := r.Docs([]byte(src)); len(docs) == 1 {
		tree = show(r.Convert(docs[0]))
	}
	if err := c.Err(); err != nil {
		for _, e := range err.(ErrorList) {
			errs = append(errs, e.Error())
		}
	}
	return tree, errs, r.Work
}

func TestValues(t *testing.T) {
	// a mapping, three keys, a list of three and two aliases of it
	src := "a: &a [1, 2, 3]\nb: *a\nc: *a\n"
	tree, errs, w := convert(Limits{}, src)
	if len(errs) > 0 || w.Values != 1+3+4+2*4 {
		t.Errorf("%s %v: %d values, want 16", tree, errs, w.Values)
	}
	if w.Tokens == 0 {
		t.Errorf("no tokens counted")
	}
	// a long string counts once more for every 64 bytes, at each alias
	_, _, w = convert(Limits{}, "a: &s "+strings.Repeat("x", 640)+"\nb: *s\n")
	if w.Values != 1+2+11+11 {
		t.Errorf("%d values, want 25", w.Values)
	}
	// at the limit the document reads; past it, it reads as null, and
	// the aliases after the line that passes it cost nothing
	if _, errs, _ := convert(Limits{Values: 16}, src); len(errs) > 0 {
		t.Errorf("at the limit: %v", errs)
	}
	tree, errs, w = convert(Limits{Values: 15}, src+"d: ["+strings.Repeat("*a, ", 1000)+"]\n")
	want := []string{"f.yaml:3: the file has more than 15 values, the limit, counting a string once more for every 64 bytes and an alias as all the values of its anchor"}
	if diff := cmp.Diff(want, errs); diff != "" || tree != ":null@1" || w.Values != 16 {
		t.Errorf("past the limit: %s, %d values, errors (-want +got):\n%s", tree, w.Values, diff)
	}
	// a mapping that merges itself ten times, eleven levels deep
	var b strings.Builder
	b.WriteString("a0: &a0 {x: 1}\n")
	for i := 1; i <= 11; i++ {
		fmt.Fprintf(&b, "a%d: &a%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	_, errs, w = convert(Limits{Values: 1_000_000}, b.String())
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "f.yaml:7: the file has more than 1000000 values") || w.Values > 1_000_001 {
		t.Errorf("repeated merges: %d values, %v", w.Values, errs)
	}
}

// TestManyMergedKeys: merged keys were checked against the mapping's
// entries one by one: 50,000 took 8 s. The mapping's own keys win, then
// the first merged mapping's.
func TestManyMergedKeys(t *testing.T) {
	for _, n := range []int{3, 1000} {
		var a, b strings.Builder
		a.WriteString("a: &a {")
		b.WriteString("b: &b {")
		want := []string{"k0=own"}
		for i := range n {
			fmt.Fprintf(&a, "k%d: a, ", i)
			fmt.Fprintf(&b, "k%d: b, m%d: b, ", i, i)
			if i > 0 {
				want = append(want, fmt.Sprintf("k%d=a", i))
			}
		}
		for i := range n {
			want = append(want, fmt.Sprintf("m%d=b", i))
		}
		src := a.String() + "}\n" + b.String() + "}\nc: {k0: own, <<: [*a, *b]}\n"
		c := &Collector{File: "f.yaml"}
		r := Reader{Errs: c}
		root := r.Convert(r.Docs([]byte(src))[0])
		var got []string
		for _, e := range root.Get("c").Entries {
			got = append(got, e.Key+"="+e.Val.Text)
		}
		if diff := cmp.Diff(want, got); diff != "" || c.Err() != nil {
			t.Errorf("%d keys: %v (-want +got):\n%s", n, c.Err(), diff)
		}
	}
}
