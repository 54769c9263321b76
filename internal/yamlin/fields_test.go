package yamlin

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// An unknown key is named in the error's path (the mapping's path and
// the key, cut at 40 characters), as every other error names its field:
// a caller (the API's field of an error) takes it from there, not from
// the message. Before, the path was the mapping's, the key only quoted
// in the message.
func TestFieldsNamesAnUnknownKeyInItsPath(t *testing.T) {
	long := strings.Repeat("k", 50)
	n := &Node{Kind: KindMap, Line: 2, Entries: []Entry{
		{Key: "name", Line: 2, Val: &Node{Kind: KindString, Text: "a"}},
		{Key: "colour", Line: 3, Val: &Node{Kind: KindString, Text: "blue"}},
		{Key: long, Line: 4, Val: &Node{Kind: KindInt, Int: 1}},
	}}
	c := &Collector{File: "n.yaml"}
	var set []string
	c.Fields(n, "nodes[0]", "a node", []string{"name"}, func(e Entry) { set = append(set, e.Key) })
	var list ErrorList
	if !errors.As(c.Err(), &list) {
		t.Fatalf("no ErrorList: %v", c.Err())
	}
	var got []Error
	for _, e := range list {
		got = append(got, *e)
	}
	want := []Error{
		{File: "n.yaml", Line: 3, Path: "nodes[0].colour", Msg: "unknown field; a node has name"},
		{File: "n.yaml", Line: 4, Path: "nodes[0]." + strings.Repeat("k", 40) + "…", Msg: "unknown field; a node has name"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"name"}, set); d != "" {
		t.Errorf("keys set (-want +got):\n%s", d)
	}
	if s := list[0].Error(); s != "n.yaml:3: nodes[0].colour: unknown field; a node has name" {
		t.Errorf("reads %q", s)
	}
}

// An unknown key that a terminal would not print as itself (a control
// character, an escape sequence, a newline, bytes that are not UTF-8, a
// quote) is quoted in the error's path, as the message quoted it before
// the key moved there: printed raw, it garbled the line, or forged
// another. A plain key, spaces and letters of any script included, is
// named as it is.
func TestUnknownQuotesAKeyThatDoesNotPrintAsItself(t *testing.T) {
	for key, want := range map[string]string{
		"colour":                 "jobs[0].colour",
		"gpu model":              "jobs[0].gpu model",
		"modèle":                 "jobs[0].modèle",
		"gpus\x1b[31mRED\nnext":  `jobs[0]."gpus\x1b[31mRED\nnext"`,
		"a\x00b":                 `jobs[0]."a\x00b"`,
		"bad\xffutf8":            `jobs[0]."bad\xffutf8"`,
		`say "hi"`:               `jobs[0]."say \"hi\""`,
		"":                       `jobs[0].""`,
		strings.Repeat("\t", 50): `jobs[0]."` + strings.Repeat(`\t`, 40) + `…"`,
	} {
		c := &Collector{File: "j.yaml"}
		c.Unknown(3, "jobs[0]", key, "")
		var list ErrorList
		if !errors.As(c.Err(), &list) || len(list) != 1 {
			t.Fatalf("key %q: %v", key, c.Err())
		}
		if list[0].Path != want {
			t.Errorf("key %q: path %q, want %q", key, list[0].Path, want)
		}
	}
}
