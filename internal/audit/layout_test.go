package audit

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestVerifyRefusesLinesNotAsWritten: every line of an export is exactly
// as Export writes it. A line that carries more than its one part (a
// key given twice, a key spelled in other letter cases, which
// encoding/json reads as the same key, the last one winning) would let
// text no checkpoint covers ride in a verified export: whoever reads the
// file, or greps it, sees an entry the verifier never hashed.
func TestVerifyRefusesLinesNotAsWritten(t *testing.T) {
	k := newKey(t, "carnot-test")
	l := newLog(t)
	cps := grow(t, l, k, 0, 20, 10, "a")
	good := lines(export(t, l, cps))
	if _, err := Verify(bytes.NewReader(join(good)), k.verifier, nil); err != nil {
		t.Fatal(err)
	}
	i := entryLine(t, good, 3)
	real := strings.TrimSuffix(strings.TrimPrefix(good[i], `{"entry":`), "}")
	forged := strings.Replace(real, `"action":"`, `"action":"forged-`, 1)
	cp := good[len(good)-1]
	cpNote := strings.TrimSuffix(strings.TrimPrefix(cp, `{"checkpoint":`), "}")
	for _, c := range []struct {
		name, line string
		at         int
	}{
		{"an entry key twice", `{"entry":` + forged + `,"entry":` + real + `}`, i},
		{"an entry key in capitals", `{"entry":` + forged + `,"ENTRY":` + real + `}`, i},
		{"an entry key in other cases", `{"Entry":` + real + `}`, i},
		{"a header key twice", `{"format":"carnot-audit/1","origin":"forged","origin":"` + testOrigin + `"}`, 0},
		{"a checkpoint key twice", `{"checkpoint":"forged","checkpoint":` + cpNote + `}`, len(good) - 1},
		{"spaces around an entry", `{ "entry": ` + real + ` }`, i},
	} {
		ls := withCheckpoint(good, c.at, c.line)
		if _, err := Verify(bytes.NewReader(join(ls)), k.verifier, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want %v", c.name, err, ErrMalformed)
		}
	}
}
