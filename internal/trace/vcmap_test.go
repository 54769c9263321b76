package trace

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadVCMap(t *testing.T) {
	data := "\ufeff# our VCs\nvc,tenant,comment\n\n6214e9,lab-a,the big one\r\n# b436b2 is lab-b's\n b436b2 , lab-b ,\n"
	got, err := ReadVCMap("m.csv", strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []MapEntry{
		{VC: "6214e9", Tenant: "lab-a", File: "m.csv", Line: 4, Column: 8},
		{VC: "b436b2", Tenant: "lab-b", File: "m.csv", Line: 6, Column: 10},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

// TestReadVCMapErrors: every problem of a map file is named with its
// file:line:column and field.
func TestReadVCMapErrors(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
	}{
		{"empty", "", []string{"m.csv:1: empty file; the first line must be the header vc,tenant"}},
		{"comments only", "# nothing\n", []string{"m.csv:1: empty file; the first line must be the header vc,tenant"}},
		{"header only", "vc,tenant\n", []string{"m.csv:1: no VCs; add one row per VC after the header, e.g. 6214e9,lab-a"}},
		{"missing column", "vc,team\na,b\n", []string{"m.csv:1: tenant: missing column; the first line must be the header vc,tenant"}},
		{"bad rows", "vc,tenant\na,lab-a\na,lab-b\n,lab-c\nb,\nc,lab a\nd\n\"e,lab-e\n", []string{
			"m.csv:3:1: vc: VC a is already mapped on line 2; keep one row per VC",
			`m.csv:4:1: vc: "" is not a virtual-cluster id; use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63 characters)`,
			`m.csv:5:3: tenant: "" is not a tenant name; use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63 characters)`,
			`m.csv:6:3: tenant: "lab a" is not a tenant name; use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63 characters)`,
			"m.csv:7:1: row has 1 fields, the header 2; every row needs one value per header column",
			`m.csv:8:10: a quoted value is not closed properly; end it with '"' right before the ',' or the line end, and double any '"' inside it`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ReadVCMap("m.csv", strings.NewReader(tt.data))
			var list Errors
			if m != nil || !errors.As(err, &list) {
				t.Fatalf("got %v, %v; want Errors", m, err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMapFlag(t *testing.T) {
	e, err := ParseMapFlag("--map", " 6214e9 = lab-a")
	if err != nil || e != (MapEntry{VC: "6214e9", Tenant: "lab-a", File: "--map  6214e9 = lab-a"}) {
		t.Errorf("got %+v, %v", e, err)
	}
	for in, want := range map[string]string{
		"6214e9":       "--map 6214e9: want VC=TENANT, e.g. --map 6214e9=lab-a",
		"=lab-a":       `--map =lab-a: "" is not a virtual-cluster id;`,
		"6214e9=":      `--map 6214e9=: "" is not a tenant name;`,
		"6214e9=a=b":   `--map 6214e9=a=b: "a=b" is not a tenant name;`,
		"6214e9=lab/a": `--map 6214e9=lab/a: "lab/a" is not a tenant name;`,
	} {
		if _, err := ParseMapFlag("--map", in); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: error %v, want one starting %q", in, err, want)
		}
	}
}

// FuzzReadVCMap checks that any input yields either entries the
// facility format accepts, one per VC, each with its line, or an Errors
// list within bounds naming the file: never a panic or a hang.
func FuzzReadVCMap(f *testing.F) {
	for _, s := range []string{
		"",
		"vc,tenant\n",
		"vc,tenant\r\n6214e9,lab-a\r\nb436b2,lab-b\r\n",
		"\ufeff# map\nvc,tenant,note\n\na, b ,x\n#c,d\n",
		"tenant,vc\nlab-a,a\nlab-a,b\n",
		"vc,tenant\na,x\na,y\n,z\nb,\nc\n\"d,e\n",
		"vc,vc,tenant\n",
		"#only a comment",
		"vc,tenant\n\"a\"\"\",b\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		entries, err := ReadVCMap("m.csv", strings.NewReader(data))
		if err != nil {
			var list Errors
			if entries != nil || !errors.As(err, &list) || len(list) == 0 || len(list) > MaxErrors+1 {
				t.Fatalf("got %v, %v; want Errors of 1 to %d problems", entries, err, MaxErrors+1)
			}
			for _, e := range list {
				if e.File != "m.csv" || e.Line < 0 || e.Column < 0 || e.Msg == "" {
					t.Fatalf("bad error %#v", e)
				}
			}
			return
		}
		if len(entries) == 0 {
			t.Fatal("no entries and no error")
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if !validIdent(e.VC) || !validIdent(e.Tenant) || seen[e.VC] || e.File != "m.csv" || e.Line < 2 || e.Column < 1 {
				t.Fatalf("bad entry %+v", e)
			}
			seen[e.VC] = true
		}
	})
}
