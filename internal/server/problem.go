package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/api"
)

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, &api.Problem{Status: http.StatusInternalServerError, Detail: "encoding the response: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// problemTitles are the titles of the problem types the API uses.
var problemTitles = map[int]string{
	http.StatusBadRequest:            "invalid request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not found",
	http.StatusMethodNotAllowed:      "method not allowed",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "request too large",
	http.StatusUnsupportedMediaType:  "unsupported media type",
	http.StatusTooManyRequests:       "too many requests",
	http.StatusInternalServerError:   "internal error",
	http.StatusBadGateway:            "bad gateway",
	http.StatusServiceUnavailable:    "unavailable",
}

// writeProblem writes an RFC 9457 problem document.
func writeProblem(w http.ResponseWriter, p *api.Problem) {
	if p.Title == "" {
		p.Title = problemTitles[p.Status]
	}
	if p.Type == "" {
		p.Type = api.ProblemType + strings.ReplaceAll(p.Title, " ", "-")
	}
	b, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}

func problemf(w http.ResponseWriter, status int, format string, args ...any) {
	writeProblem(w, &api.Problem{Status: status, Detail: fmt.Sprintf(format, args...)})
}

// readBody reads a JSON request body of at most limit bytes. It writes
// the problem and returns false when the body is too large, not JSON, or
// of another media type, or of more than one (Content-Type sent twice:
// the server would read the first, an intermediary may read another).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	ct, twice := oneHeader(r, "Content-Type")
	if twice != "" {
		writeProblem(w, &api.Problem{Status: http.StatusUnsupportedMediaType, Detail: "the body must be application/json, in one Content-Type header",
			Errors: []api.FieldError{{Field: "Content-Type", Message: twice}}})
		return nil, false
	}
	if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			problemf(w, http.StatusUnsupportedMediaType, "the body must be application/json, not %q", ct)
			return nil, false
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		problemf(w, http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", limit)
		return nil, false
	case err != nil:
		problemf(w, http.StatusBadRequest, "reading the body: %v", err)
		return nil, false
	}
	return b, true
}

// decodeStrict decodes a JSON body into v, rejecting unknown fields,
// trailing data, type mismatches and strings that hold a NUL with the
// field named.
func decodeStrict(w http.ResponseWriter, b []byte, v any) bool {
	return decodeJSON(w, b, v) && refuseNUL(w, b, v)
}

// decodeJSON is decodeStrict less the check for NULs: for a body whose
// text is escaped instead (escapeTaskText), then checked with refuseNUL.
func decodeJSON(w http.ResponseWriter, b []byte, v any) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	err := d.Decode(v)
	// Not d.More: it is false before a stray '}' or ']'.
	if err == nil && len(bytes.TrimLeft(b[d.InputOffset():], " \t\r\n")) > 0 {
		err = errors.New("data after the JSON value")
	}
	if err == nil {
		path, ok := duplicateKeyIn(b, reflect.TypeOf(v))
		if ok {
			return true
		}
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the body is not a valid request",
			Errors: []api.FieldError{{Field: path, Message: "given twice: give each field once"}}})
		return false
	}
	p := &api.Problem{Status: http.StatusBadRequest, Detail: "the body is not a valid request"}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		p.Errors = []api.FieldError{{Field: te.Field, Message: fmt.Sprintf("must be %s, not %s", jsonKind(te.Type), jsonValue(te.Value))}}
	case errors.As(err, &se):
		p.Detail = fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF):
		p.Detail = "empty body: want a JSON object" + fieldsOf(v)
	case errors.Is(err, io.ErrUnexpectedEOF):
		p.Detail = "the JSON body ends before its value does: want a JSON object" + fieldsOf(v)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p.Errors = []api.FieldError{{Field: f, Message: "unknown field"}}
	default:
		p.Detail = err.Error()
	}
	writeProblem(w, p)
	return false
}

// jsonKind says what a field of Go type t holds in JSON's words ("an
// integer"), for a client that never saw the Go type ("int64").
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		if t.String() == "time.Time" {
			return "an RFC 3339 time as a string"
		}
		return "an object"
	}
	return "a " + t.Kind().String()
}

// jsonValue says what encoding/json's UnmarshalTypeError.Value was
// ("string", "number 1.5", "array") in the same words.
func jsonValue(v string) string {
	switch {
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	case v == "bool":
		return "a boolean"
	case v == "string":
		return "a string"
	case strings.HasPrefix(v, "number"):
		return "a number" + strings.TrimPrefix(v, "number") // "number 1.5": the value too
	}
	return v
}

// fieldsOf names the JSON fields of the struct v points to, for a
// problem that says what a body should hold: " with fields a, b".
func fieldsOf(v any) string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return ""
	}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		names = append(names, or(name, f.Name))
	}
	if len(names) == 0 {
		return ""
	}
	return " with fields " + strings.Join(names, ", ")
}

// oneHeader is the value of header name ("" when absent), or, for a
// header sent more than once, a message that says so: each header the
// server reads takes one value, and reading the first alone would act on
// a request its client did not mean.
func oneHeader(r *http.Request, name string) (string, string) {
	vs := r.Header.Values(name)
	switch len(vs) {
	case 0:
		return "", ""
	case 1:
		return vs[0], ""
	}
	return "", fmt.Sprintf("the %s header is given %d times: send it once", name, len(vs))
}

// queryInt reads an integer query parameter in [lo, hi]; def when absent.
func queryInt(w http.ResponseWriter, r *http.Request, name string, def, lo, hi int64) (int64, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, true
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
			Errors: []api.FieldError{{Field: name, Message: fmt.Sprintf("must be an integer from %d to %d, not %q", lo, hi, s)}}})
		return 0, false
	}
	return v, true
}

// queryBool reads the boolean query parameter name (false when absent),
// answering 400 for anything but a boolean.
func queryBool(w http.ResponseWriter, r *http.Request, name string) (bool, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, true
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
			Errors: []api.FieldError{{Field: name, Message: fmt.Sprintf("must be true or false, not %q", s)}}})
		return false, false
	}
	return v, true
}
