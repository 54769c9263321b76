package facility

import "testing"

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
