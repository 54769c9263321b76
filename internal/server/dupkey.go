package server

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// duplicateKey finds a key given twice in one object of b, valid JSON,
// and returns its path ("gpus[0].index") and false; encoding/json would
// take the last of them silently, where a reader of the request may read
// the first. It scans the bytes (b decoded already), allocating only for
// a key with escapes and for wide objects: it runs on every heartbeat.
// Keys are compared exactly (duplicateKeyIn compares a struct's keys as
// encoding/json matches them).
func duplicateKey(b []byte) (string, bool) { return duplicateKeyIn(b, nil) }

// duplicateKeyIn is duplicateKey for b decoded into a value of type t:
// the keys of an object decoded into a struct are compared without case,
// as encoding/json matches them to fields ({"role": …, "ROLE": …} sets
// one field twice), those of a map exactly. A nil t compares every key
// exactly.
func duplicateKeyIn(b []byte, t reflect.Type) (string, bool) {
	d := dupScan{b: b}
	d.value(t)
	if d.dup == "" {
		return "", true
	}
	return d.dup, false
}

// dupScan is duplicateKey's scanner: at is its position in b, path the
// keys and indices down to the value it reads, dup the path of the first
// key found twice.
type dupScan struct {
	b    []byte
	at   int
	path []string
	dup  string
}

func (d *dupScan) space() {
	for d.at < len(d.b) && (d.b[d.at] == ' ' || d.b[d.at] == '\t' || d.b[d.at] == '\n' || d.b[d.at] == '\r') {
		d.at++
	}
}

// str reads a string at d.at, returning its raw bytes between the quotes
// and whether they hold an escape.
func (d *dupScan) str() ([]byte, bool) {
	start, esc := d.at+1, false
	for d.at++; d.at < len(d.b); d.at++ {
		switch d.b[d.at] {
		case '\\':
			esc = true
			d.at++
		case '"':
			d.at++
			return d.b[start : d.at-1], esc
		}
	}
	return d.b[start:], esc
}

// value reads the value at d.at, decoded into a t (nil: unknown).
func (d *dupScan) value(t reflect.Type) {
	d.space()
	if d.at >= len(d.b) || d.dup != "" {
		return
	}
	t = deref(t)
	switch d.b[d.at] {
	case '{':
		d.object(t)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		d.at++
		for i := 0; d.dup == ""; i++ {
			d.space()
			if d.at >= len(d.b) || d.b[d.at] == ']' {
				d.at++
				return
			}
			d.path = append(d.path, "["+strconv.Itoa(i)+"]")
			d.value(elem)
			d.path = d.path[:len(d.path)-1]
			d.space()
			if d.at < len(d.b) && d.b[d.at] == ',' {
				d.at++
			}
		}
	case '"':
		d.str()
	default: // a number, true, false, null
		for d.at < len(d.b) && !strings.ContainsRune(",]} \t\r\n", rune(d.b[d.at])) {
			d.at++
		}
	}
}

// object reads the object at d.at, decoded into a t (nil: unknown).
func (d *dupScan) object(t reflect.Type) {
	var fields []jsonField // t's, when a struct: keys match them without case
	var elem reflect.Type  // a map's values
	switch {
	case t != nil && t.Kind() == reflect.Struct:
		fields = structFields(t)
	case t != nil && t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	fold := t != nil && t.Kind() == reflect.Struct
	d.at++
	var keys []string
	var many map[string]bool // keys, once there are more than a few: an object of many keys (a map field) is no quadratic walk
	for d.dup == "" {
		d.space()
		if d.at >= len(d.b) || d.b[d.at] == '}' {
			d.at++
			return
		}
		raw, esc := d.str()
		key := string(raw)
		if esc {
			var k string
			if json.Unmarshal(d.b[d.at-len(raw)-2:d.at], &k) == nil { // with its quotes
				key = k
			}
		}
		d.space()
		d.at++ // ':'
		seen := key
		if fold {
			seen = strings.ToLower(key)
		}
		if many != nil && many[seen] || many == nil && slices.Contains(keys, seen) {
			d.dup = d.pathTo(key)
			return
		}
		switch {
		case many != nil:
			many[seen] = true
		case len(keys) < 16:
			keys = append(keys, seen)
		default:
			many = map[string]bool{seen: true}
			for _, k := range keys {
				many[k] = true
			}
		}
		child := elem
		if fields != nil {
			child = fieldType(fields, key)
		}
		d.path = append(d.path, key)
		d.value(child)
		d.path = d.path[:len(d.path)-1]
		d.space()
		if d.at < len(d.b) && d.b[d.at] == ',' {
			d.at++
		}
	}
}

// pathTo is the path of key in the object d reads: "gpus[0].index".
func (d *dupScan) pathTo(key string) string {
	var sb strings.Builder
	for _, p := range append(d.path, key) {
		if sb.Len() > 0 && !strings.HasPrefix(p, "[") {
			sb.WriteByte('.')
		}
		sb.WriteString(p)
	}
	return sb.String()
}

// deref is t less its pointers (nil stays nil).
func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonField is a struct field as encoding/json names it.
type jsonField struct {
	name string
	typ  reflect.Type
}

// fieldsCache holds structFields' answers by type.
var fieldsCache sync.Map

// structFields lists the JSON fields of struct type t, those of its
// embedded structs without a name of their own included.
func structFields(t reflect.Type) []jsonField {
	if fs, ok := fieldsCache.Load(t); ok {
		return fs.([]jsonField)
	}
	var fs []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if et := deref(f.Type); et.Kind() == reflect.Struct {
				fs = append(fs, structFields(et)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs = append(fs, jsonField{name: name, typ: f.Type})
	}
	actual, _ := fieldsCache.LoadOrStore(t, fs)
	return actual.([]jsonField)
}

// fieldType is the type of the field key names among fs, as
// encoding/json matches it (exactly, else without case); nil when none.
func fieldType(fs []jsonField, key string) reflect.Type {
	for _, f := range fs {
		if f.name == key {
			return f.typ
		}
	}
	for _, f := range fs {
		if strings.EqualFold(f.name, key) {
			return f.typ
		}
	}
	return nil
}
