package server

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A truncated body says so, not "unexpected EOF".
func TestTruncatedBodyIsNamed(t *testing.T) {
	e := devEnv(t)
	w := e.raw("POST", "/v1/tokens", []byte(`{"name": "a"`))
	if got := w.Body.String(); w.Code != 400 || strings.Contains(got, "unexpected EOF") || !strings.Contains(got, "ends before") {
		t.Errorf("a truncated body: %d %s; want 400 saying it ends early", w.Code, got)
	}
}

// An empty (or blank) body on a route that decodes strictly is named as
// such, with what the route wants, not answered with a bare "EOF".
func TestEmptyBodyIsNamed(t *testing.T) {
	e := devEnv(t)
	for _, rt := range []struct{ method, path, field string }{
		{"POST", "/v1/tokens", "role"},
		{"PUT", "/v1/secrets/s1", "value"},
		{"POST", "/v1/agent/register", "name"},
		{"POST", "/v1/agent/nodes/n1/heartbeat", "tasks"},
	} {
		for _, body := range []string{"", " \n"} {
			w := e.raw(rt.method, rt.path, []byte(body))
			got := w.Body.String()
			if w.Code != 400 || strings.Contains(got, `"EOF"`) || !strings.Contains(got, "empty body: want a JSON object") || !strings.Contains(got, rt.field) {
				t.Errorf("%s %s with body %q: %d %s; want 400 saying the body is empty and naming %s", rt.method, rt.path, body, w.Code, got, rt.field)
			}
		}
	}
}

// A key given twice in a body is refused naming it, as a job's is:
// encoding/json takes the last silently, so a token asked for as
// {"role":"viewer","role":"operator"} was an operator's, whatever a
// reviewer of the request read first.
func TestDuplicateKeyInABodyIsRefused(t *testing.T) {
	e := secEnv(t)
	for _, c := range []struct{ method, path, body, field string }{
		{"POST", "/v1/tokens", `{"name":"dup","role":"viewer","role":"operator"}`, "role"},
		{"PUT", "/v1/secrets/s1", `{"tenant":"a","value":"x","value":"y"}`, "value"},
		{"POST", "/v1/jobs/j-x/checkpoint", `{"message":"a","message":"b"}`, "message"},
		{"POST", "/v1/agent/register", `{"name":"n2","site":"x","gpus":[{"index":0,"model":"H100","index":1}]}`, "gpus[0].index"},
	} {
		w := e.raw(c.method, c.path, []byte(c.body))
		got := w.Body.String()
		if w.Code != 400 || !strings.Contains(got, `"field":"`+c.field+`"`) || !strings.Contains(got, "twice") {
			t.Errorf("%s %s %s: %d %s; want 400 naming %s, given twice", c.method, c.path, c.body, w.Code, got, c.field)
		}
	}
	var toks api.TokenList
	e.do("GET", "/v1/tokens", nil, &toks)
	for _, tk := range toks.Tokens {
		if tk.Name == "dup" {
			t.Errorf("token dup was created: %+v", tk)
		}
	}
}

// duplicateKey finds a key given twice at any depth, keys written with
// escapes included, and nothing in bodies without one.
func TestDuplicateKeyScan(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1,"b":{"c":[1,{"d":2,"d":3}]}}`:       "b.c[1].d",
		`{"a":"x\"y","a":2}`:                        "a",
		`{"\u0061":1,"a":2}`:                        "a",
		`[{"x":1},{"x":2},{"y":[{"z":1,"z":1}]}]`:   "[2].y[0].z",
		`{"a":{"b":1},"c":{"b":1},"s":"{\"a\":1}"}`: "",
		` { "k" : [ ] , "l" : { } , "m" : null } `:  "",
		`{"a":true,"b":false,"c":-1.5e3,"d":"\\"}`:  "",
	} {
		got, ok := duplicateKey([]byte(body))
		if got != want || ok != (want == "") {
			t.Errorf("duplicateKey(%s) = %q, %v; want %q", body, got, ok, want)
		}
	}
}

// A field of the wrong type is named in JSON's words ("must be an
// integer, not a string"), not Go's ("must be int64, not string").
func TestWrongTypeIsSaidInJSONWords(t *testing.T) {
	e := secEnv(t)
	for _, c := range []struct{ method, path, body, field, want string }{
		{"POST", "/v1/tokens", `{"name":"x","role":"viewer","ttl_seconds":"10"}`, "ttl_seconds", "must be an integer, not a string"},
		{"POST", "/v1/tokens", `{"name":["x"],"role":"viewer"}`, "name", "must be a string, not a list"},
		{"PUT", "/v1/secrets/s1", `{"tenant":"a","value":7}`, "value", "must be a string, not a number"},
	} {
		w := e.raw(c.method, c.path, []byte(c.body))
		got := w.Body.String()
		if w.Code != 400 || !strings.Contains(got, `{"field":"`+c.field+`","message":"`+c.want+`"}`) {
			t.Errorf("%s %s %s: %d %s; want 400 naming %s: %s", c.method, c.path, c.body, w.Code, got, c.field, c.want)
		}
	}
}

// A job's field given twice is named in the problem's field, as other
// bodies' are, not left in a message about a column of the body.
func TestDuplicateJobFieldIsNamed(t *testing.T) {
	e := devEnv(t)
	var p api.Problem
	code := e.do("POST", "/v1/jobs", []byte(`{"tenant":"default","gpus":1,"gpus":2,"command":["x"]}`), &p)
	if code != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "gpus" || !strings.Contains(p.Errors[0].Message, "twice") {
		t.Errorf("a job with gpus twice: %d %+v; want 400 naming gpus", code, p)
	}
}

// A body whose object has many keys (a map field such as a job's env)
// is checked for repeated keys in time in proportion to its keys: the
// check runs on every request before the request's own limits do.
func BenchmarkDuplicateKeyWideObject(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"env":{`)
	for i := range 50_000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"k%d":"v"`, i)
	}
	sb.WriteString(`}}`)
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, ok := duplicateKey(body); !ok {
			b.Fatal("a repeated key found where there is none")
		}
	}
}

// The check still finds a key repeated far into a wide object.
func TestDuplicateKeyInAWideObject(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"env":{`)
	for i := range 100 {
		fmt.Fprintf(&sb, `"k%d":"v",`, i)
	}
	sb.WriteString(`"k7":"again"}}`)
	if path, ok := duplicateKey([]byte(sb.String())); ok || path != "env.k7" {
		t.Errorf("duplicateKey: %q, %v; want env.k7 found", path, ok)
	}
}

// encoding/json matches a key to a struct field without case: a body
// that gives one field twice in two cases sets it twice, and is refused
// like an exact repeat; the keys of a map field (a job's env) are its
// own and may differ by case alone.
func TestDuplicateKeyInAnotherCaseIsRefused(t *testing.T) {
	e := devEnv(t)
	w := e.raw("POST", "/v1/tokens", []byte(`{"name":"x","role":"viewer","ROLE":"operator-admin"}`))
	if got := w.Body.String(); w.Code != 400 || !strings.Contains(got, "ROLE") || !strings.Contains(got, "given twice") {
		t.Errorf("a token request with role and ROLE: %d %s; want 400 naming ROLE given twice", w.Code, got)
	}
	type job struct {
		Env  map[string]string `json:"env"`
		GPUs []struct {
			Index int `json:"index"`
		} `json:"gpus"`
	}
	for body, want := range map[string]string{
		`{"env":{"PATH":"a","path":"b"}}`:              "",
		`{"env":{"A":"1"},"ENV":{"B":"2"}}`:            "ENV",
		`{"gpus":[{"index":1},{"index":2,"Index":3}]}`: "gpus[1].Index",
	} {
		got, ok := duplicateKeyIn([]byte(body), reflect.TypeOf(&job{}))
		if got != want || ok != (want == "") {
			t.Errorf("duplicateKeyIn(%s) = %q, %v; want %q", body, got, ok, want)
		}
	}
}
