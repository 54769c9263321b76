package facility

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// baseJSON is base written as JSON, indented with tabs as json.Indent
// writes it.
func baseJSON(t *testing.T) string {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(base), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// A facility file named .json is JSON: a valid one loads (tabs and all),
// and a syntax error in one is reported as invalid JSON at its file,
// line and column, not as a YAML syntax error in the YAML parser's
// words; what YAML allows and JSON does not (a trailing comma) is one.
func TestJSONFacilitySyntaxError(t *testing.T) {
	good := baseJSON(t)
	if _, err := Load("f.json", []byte(good)); err != nil {
		t.Fatalf("the valid JSON facility: %v", err)
	}
	if _, err := Load("f.json", []byte("\ufeff"+good)); err != nil {
		t.Fatalf("the valid JSON facility after a byte-order mark: %v", err)
	}
	lines := strings.Split(good, "\n")
	comma := -1 // the first line that ends with a comma
	for i, l := range lines {
		if strings.HasSuffix(l, ",") {
			comma = i
			break
		}
	}
	missing := append([]string(nil), lines...)
	missing[comma] = strings.TrimSuffix(missing[comma], ",")
	for _, tc := range []struct{ name, data, want string }{
		{"missing.json", strings.Join(missing, "\n"), "missing.json:" + strconv.Itoa(comma+2) + ": invalid JSON: column "},
		{"trailing.json", "{\"name\": \"t\",\n \"sites\": [],\n}\n", "trailing.json:3: invalid JSON: column 1: "},
		{"short.json", good[:len(good)/2], "short.json:"},
	} {
		_, err := Load(tc.name, []byte(tc.data))
		var errs Errors
		if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(err.Error(), tc.want) ||
			!strings.Contains(err.Error(), "invalid JSON") || strings.Contains(err.Error(), "YAML") {
			t.Errorf("%s: %v; want one error %q…", tc.name, err, tc.want)
		}
	}
	// a .yaml file is YAML still: a trailing comma in flow style is fine there
	if _, err := Load("f.yaml", []byte(strings.Replace(base, "{nominal: 16}", "{nominal: 16,}", 1))); err != nil {
		t.Errorf("a trailing comma in a YAML flow mapping: %v", err)
	}
}

// FuzzLoadJSON is FuzzLoad for a file named .json, which is held to
// JSON first: no input makes Load panic or fail without a place within
// the file.
func FuzzLoadJSON(f *testing.F) {
	var v any
	if err := yaml.Unmarshal([]byte(base), &v); err != nil {
		f.Fatal(err)
	}
	good, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(good), "", "{", "[]", "null", "{\"name\": \"t\",}", "\ufeff{\"name\": 1}", "{\"a\":1}\n{\"b\":2}", "\"\\ud800\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nlines := strings.Count(string(data), "\n") + strings.Count(string(data), "\r") + 1
		fac, _, err := load("f.json", data)
		if err == nil {
			if fac == nil {
				t.Fatal("nil facility without error")
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error is not Errors: %v", err)
		}
		for _, e := range errs {
			if e.File != "f.json" || e.Line < 0 || e.Line > nlines || strings.Contains(e.Msg, "internal error") {
				t.Fatalf("bad error %#v (file has %d lines)", e, nlines)
			}
		}
	})
}
