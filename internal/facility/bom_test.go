package facility

import (
	"strings"
	"testing"
)

// TestBOM: a byte-order mark, as Windows editors write, before the first
// line made the first key an unknown field "\ufeffname".
func TestBOM(t *testing.T) {
	if _, err := Load("t.yaml", []byte("\ufeff"+base)); err != nil {
		t.Error(err)
	}
}

// TestYAMLDirective: a file that starts with a YAML directive before its
// document ("%YAML 1.2" then "---", as YAML 1.2 writers emit it) holds
// one document; the parser gives the directive a document of its own,
// and Load refused the file as two ("t.yaml:3: a facility file holds
// one YAML document; remove the second one").
func TestYAMLDirective(t *testing.T) {
	if _, err := Load("t.yaml", []byte("%YAML 1.2\n---\n"+base)); err != nil {
		t.Error(err)
	}
	// a second document is still one too many, named on its line
	_, err := Load("t.yaml", []byte("%YAML 1.2\n---\nname: t\n...\n%YAML 1.2\n---\nname: u\n"))
	if want := "t.yaml:7: a facility file holds one YAML document; remove the second one (after ---)"; err == nil || err.Error() != want {
		t.Errorf("two documents after directives: %v, want %q", err, want)
	}
}

// TestNotUTF8: a file saved in Latin-1 or Windows-1252 ("Société" with
// byte 0xE9) loaded with each such byte replaced by U+FFFD, the operator
// silently renamed "Soci�t�". The file is refused at the first such byte.
func TestNotUTF8(t *testing.T) {
	data := strings.Replace(base, "operator: Op SAS", "operator: Soci\xe9t\xe9 SAS", 1)
	_, err := Load("t.yaml", []byte(data))
	if want := "t.yaml:5: invalid UTF-8 at column 19 (byte 0xe9): save the file as UTF-8"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
