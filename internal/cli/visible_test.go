package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// Text the server passes on from tenants and processes (a checkpoint
// acknowledgement's note, a program's name in "failed to start", an
// agent's error) reaches the terminal without its control characters: an
// escape sequence in a tenant's note recolored or rewrote an operator's
// terminal through carnot events, and a carriage return could overwrite
// the line it was on.
func TestServerTextIsPrintedWithoutControlCharacters(t *testing.T) {
	const bad = "saved\x1b[31mRED\rX\x07\ty\u009b"
	var b bytes.Buffer
	p := &eventPrinter{w: &b}
	if err := p.print(api.Event{Seq: 1, Time: time.Unix(0, 0), Type: "checkpoint", Job: "j", Message: bad}); err != nil {
		t.Fatal(err)
	}
	want := `saved\x1b[31mRED\rX\x07 y\u009b` + "\n"
	if !strings.HasSuffix(b.String(), want) {
		t.Errorf("event line %q; want it to end %q", b.String(), want)
	}
	if got := trunc(bad, 100); got != `saved\x1b[31mRED …` {
		t.Errorf("trunc: %q", got)
	}
	var d bytes.Buffer
	j := &api.Job{ID: "j", Tenant: "t", State: api.StateFailed, Message: "replica 0 failed to start: fork/exec \x1b]0;title\x07"}
	if err := describeJob(&d, time.Now(), j, nil); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(d.String(), "\x1b\x07") {
		t.Errorf("describe prints control characters:\n%q", d.String())
	}
	c := 127
	if err := jobOutcome(&api.Job{ID: "j", State: api.StateFailed, Message: "fork/exec \x1b[2J", ExitCode: &c}); err == nil || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("run -f's outcome prints control characters: %q", err)
	}
	var w bytes.Buffer
	if err := writeWhy(&w, time.Now(), &api.Why{Job: "j", State: api.StateFailed, Message: "x\x1b[2Jy"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(w.String(), "\x1b") {
		t.Errorf("why prints control characters:\n%q", w.String())
	}
}
