package facility

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// hostile are inputs that once could, or might, exhaust time or memory.
var hostile = map[string]string{
	"aliases multiply": `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
name: t
sites: &s [{id: s, halls: &h [{id: h, racks: &r [{id: r, nodes: [{names: *d}]}]}]}]
`,
	"sites by aliases": `name: t
x: &r [{id: 'r[1-99999]', nodes: [{names: '{rack}-[1-99999]!', cpus: 1, memory_gib: 1, base_watts: 1}]}]
sites: [{id: s, country: FR, operator: o, power_envelope_kw: 1, pue: 1.1, halls: [{id: h, racks: *r}]}]
`,
	"many duplicates": `name: t
sites: [{id: s, country: FR, operator: o, power_envelope_kw: 1, pue: 1.1, halls: [{id: h, racks: [{id: 'r[1-9]', nodes: [{names: 'n[1-99999]', cpus: 1, memory_gib: 1, base_watts: 0}]}]}]}]
`,
	"self alias": "name: &a [*a]\n",
}

func TestHostileInputs(t *testing.T) {
	for name, y := range hostile {
		t.Run(name, func(t *testing.T) {
			// A guard against blow-ups (each input loads in under two
			// seconds), not a speed test: generous enough for a loaded
			// machine (22 s was seen with two benchmarks running beside).
			start := time.Now()
			_, err := Load("h.yaml", []byte(y))
			if d := time.Since(start); d > 60*time.Second {
				t.Errorf("took %v", d)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want Errors", err)
			}
			if len(errs) > maxErrors+1 {
				t.Errorf("%d errors, want at most %d", len(errs), maxErrors+1)
			}
			for _, e := range errs {
				if strings.Contains(e.Msg, "internal error") {
					t.Errorf("panic: %v", e)
				}
			}
		})
	}
}
