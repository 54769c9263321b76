package api

import "testing"

// A gap line reads back as where the output goes on; output that only
// looks like one, or is longer than MaxGapLine allows, does not.
func TestGapLineRoundTrip(t *testing.T) {
	line := GapLine("stdout", 100, 1<<40)
	if at, ok := ParseGapLine([]byte(line)); !ok || at != 1<<40 {
		t.Errorf("ParseGapLine(%q) = %d, %v", line, at, ok)
	}
	if len(line) > MaxGapLine {
		t.Errorf("a gap line of %d bytes, above MaxGapLine %d", len(line), MaxGapLine)
	}
	for _, s := range []string{"[carnot: x]\n", line[:len(line)-1], "hello\n"} {
		if _, ok := ParseGapLine([]byte(s)); ok {
			t.Errorf("ParseGapLine(%q) took it for a gap line", s)
		}
	}
}
