package yamlin

import (
	"strconv"
	"strings"
	"testing"
)

// TestNumberForms: a YAML 1.2 float without a dot (1e3) and an integer
// beyond uint64 were plain strings, so loaders called them "a string";
// they are numbers, and Float and IntegerProblem name what is wrong with
// them.
func TestNumberForms(t *testing.T) {
	for _, tc := range []struct {
		src     string
		tree    string
		float   string // Float's value or problem
		integer string // what Collector.Integer says about it, from 0 to 4096
	}{
		{"1e3", "{v@1=1e3:number@1}", "1000", "f.yaml:1: v: 1e3 is written as a decimal number; write 1000"},
		{"12e-1", "{v@1=12e-1:number@1}", "1.2", "f.yaml:1: v: 12e-1 is not a whole number; use a whole number from 0 to 4096"},
		{"1.0", "{v@1=1.0:number@1}", "1", "f.yaml:1: v: 1.0 is written as a decimal number; write 1"},
		{"1.5", "{v@1=1.5:number@1}", "1.5", "f.yaml:1: v: 1.5 is not a whole number; use a whole number from 0 to 4096"},
		{"1e9", "{v@1=1e9:number@1}", "1e+09", "f.yaml:1: v: 1e9 is out of range; use a whole number from 0 to 4096"},
		{".inf", "{v@1=.inf:number@1}", ".inf is not a finite number", "f.yaml:1: v: .inf is not a finite number; use a whole number from 0 to 4096"},
		{"-.Inf", "{v@1=-.Inf:number@1}", "-.Inf is not a finite number", "f.yaml:1: v: -.Inf is not a finite number; use a whole number from 0 to 4096"},
		{".NaN", "{v@1=.NaN:number@1}", ".NaN is not a finite number", "f.yaml:1: v: .NaN is not a finite number; use a whole number from 0 to 4096"},
		{"1e400", "{v@1=1e400:number@1}", "1e400 is beyond any usable number", "f.yaml:1: v: 1e400 is beyond any usable number; use a whole number from 0 to 4096"},
		{"99999999999999999999999", "{v@1=99999999999999999999999:number@1}", "1e+23", "f.yaml:1: v: 99999999999999999999999 is out of range; use a whole number from 0 to 4096"},
		{"9223372036854775808", "{v@1=9223372036854775808:number@1}", "9.223372036854776e+18", "f.yaml:1: v: 9223372036854775808 is out of range; use a whole number from 0 to 4096"},
		{"'1e3'", `{v@1=1e3:string@1}`, "", `f.yaml:1: v: must be an integer from 0 to 4096 (got "1e3")`},
		{"!!str 1e3", `{v@1=1e3:string@1}`, "", `f.yaml:1: v: must be an integer from 0 to 4096 (got "1e3")`},
		{"1e3x", `{v@1=1e3x:string@1}`, "", `f.yaml:1: v: must be an integer from 0 to 4096 (got "1e3x")`},
		{"8", "{v@1=8:integer@1}", "8", ""},
	} {
		trees, errs := read(Reader{}, "v: "+tc.src+"\n")
		if len(errs) > 0 || len(trees) != 1 || trees[0] != tc.tree {
			t.Errorf("%s: read %v %v, want %s", tc.src, trees, errs, tc.tree)
			continue
		}
		c := &Collector{File: "f.yaml"}
		r := Reader{Errs: c}
		v := r.Convert(r.Docs([]byte("v: " + tc.src + "\n"))[0]).Get("v")
		f, problem := Float(v)
		got := problem
		if problem == "" && (v.Kind == KindInt || v.Kind == KindFloat) {
			got = formatG(f)
		}
		if got != tc.float {
			t.Errorf("Float(%s) = %q, want %q", tc.src, got, tc.float)
		}
		c.Integer(v, "v", 0, 4096)
		got = ""
		if err := c.Err(); err != nil {
			got = err.Error()
		}
		if got != tc.integer {
			t.Errorf("Integer(%s):\n got %q\nwant %q", tc.src, got, tc.integer)
		}
	}
}

func TestIntegerProblemForms(t *testing.T) {
	for text, want := range map[string]string{
		"0xFFFFFFFFFFFFFFFFF":          "0xFFFFFFFFFFFFFFFFF is out of range; use a whole number from 1 to 8",
		"-1e3":                         "-1e3 is out of range; use a whole number from 1 to 8",
		"12345.5":                      "12345.5 is not a whole number; use a whole number from 1 to 8",
		"8.0":                          "8.0 is written as a decimal number; write 8",
		"+.inf":                        "+.inf is not a finite number; use a whole number from 1 to 8",
		strings.Repeat("9", 60) + ".5": strings.Repeat("9", 40) + "… is out of range; use a whole number from 1 to 8",
	} {
		if got := IntegerProblem(text, 1, 8); got != want {
			t.Errorf("IntegerProblem(%s):\n got %q\nwant %q", text, got, want)
		}
	}
}

func formatG(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
