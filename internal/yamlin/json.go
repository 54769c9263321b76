package yamlin

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// JSONSyntax is the line, column and message of the first syntax error
// of a .json file, or a message of "" (none, or another kind of file).
// The YAML parser reads JSON too, but its messages talk of YAML, and it
// takes what YAML allows and JSON does not (a trailing comma, a
// comment): a .json file is held to JSON. data is without its
// byte-order mark.
func JSONSyntax(name string, data []byte) (line, col int, msg string) {
	if strings.ToLower(filepath.Ext(name)) != ".json" {
		return 0, 0, ""
	}
	var v json.RawMessage
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return 0, 0, "" // valid, or not a syntax error: the loader says
	}
	at := int(se.Offset) - 1 // the byte that did not fit
	if at >= len(data) || se.Offset == 0 || strings.Contains(se.Error(), "end of JSON input") {
		at = len(bytes.TrimRight(data, " \t\r\n")) - 1 // the end of the value
	}
	at = max(at, 0)
	before := data[:at]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	msg = strings.TrimPrefix(se.Error(), "json: ")
	if strings.Contains(msg, "end of JSON input") {
		msg = "the file ends before its JSON value does"
	}
	return line, col, msg
}
