package facility

import "testing"

// TestBOM: a byte-order mark, as Windows editors write, before the first
// line made the first key an unknown field "\ufeffname".
func TestBOM(t *testing.T) {
	if _, err := Load("t.yaml", []byte("\ufeff"+base)); err != nil {
		t.Error(err)
	}
}
