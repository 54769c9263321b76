package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/api"
)

// PostgreSQL refuses the NUL character in text and JSONB: a write that
// holds one fails, and a failed commit makes the server stop and reload.
// Text reaches the store only through these checks, on every store alike:
// a request whose body holds a NUL is refused (refuseNUL), and the text an
// agent reports about its tasks, which must be kept, has it escaped
// (escapeNUL).

// nulField is the JSON path of the first string in v (a decoded request
// body) that holds a NUL, a map key included; "" when none does.
func nulField(v any) string {
	return nulIn(reflect.ValueOf(v), "")
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

func nulIn(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return nulIn(v.Elem(), path)
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return or(path, "body")
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			p := path
			if !f.Anonymous || name != "" {
				p = join(path, or(name, f.Name))
			}
			if got := nulIn(v.Field(i), p); got != "" {
				return got
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			if k.Kind() == reflect.String && strings.IndexByte(k.String(), 0) >= 0 {
				return or(path, "body")
			}
			if got := nulIn(iter.Value(), join(path, k.String())); got != "" {
				return got
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type() == rawMessage {
			if bytes.Contains(v.Bytes(), []byte(`\u0000`)) {
				return or(path, "body")
			}
			return ""
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "" // bytes are stored as bytes
		}
		for i := range v.Len() {
			if got := nulIn(v.Index(i), path+"["+strconv.Itoa(i)+"]"); got != "" {
				return got
			}
		}
	}
	return ""
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// refuseNUL answers 400 naming the field when a string of v, decoded
// from body, holds a NUL, and reports whether none does. JSON writes a
// NUL in a string only as the escape \u0000 (a raw one is no valid
// JSON), so a body without that text is not walked: the walk, by
// reflection over the whole value, would otherwise run on every agent
// heartbeat.
func refuseNUL(w http.ResponseWriter, body []byte, v any) bool {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return true
	}
	f := nulField(v)
	if f == "" {
		return true
	}
	writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the body is not a valid request",
		Errors: []api.FieldError{{Field: f, Message: `must not contain the NUL character (\u0000)`}}})
	return false
}

// escapeNUL writes each NUL of s as the four characters \x00.
func escapeNUL(s string) string {
	return strings.ReplaceAll(s, "\x00", `\x00`)
}

// escapeTaskText escapes the NULs of the free text an agent reports about
// its tasks (the error of a replica that failed, its signal): kept, as
// the agent wrote it, instead of costing the node its heartbeat.
func escapeTaskText(tasks []api.TaskStatus) {
	for i := range tasks {
		tasks[i].Error = escapeNUL(tasks[i].Error)
		tasks[i].Signal = escapeNUL(tasks[i].Signal)
	}
}
