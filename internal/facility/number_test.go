package facility

import (
	"strings"
	"testing"
)

// TestNumberForms: a number field said ".inf" and ".nan" were "not a
// number" ("must be a number, not a number") and that 1e3 or a number
// beyond uint64 was "not a string". YAML 1.2 writes floats with an
// exponent and no dot; such a value is read as the number it is, and a
// non-finite one is named as such.
func TestNumberForms(t *testing.T) {
	for _, tc := range []struct{ pue, want string }{
		{".inf", `t.yaml:7: sites[0].pue: .inf is not a finite number`},
		{".nan", `t.yaml:7: sites[0].pue: .nan is not a finite number`},
		{"-.inf", `t.yaml:7: sites[0].pue: -.inf is not a finite number`},
		{"1e308", `t.yaml:7: sites[0].pue: 1e+308 is implausibly high`},
		{"99999999999999999999999", `t.yaml:7: sites[0].pue: 1e+23 is implausibly high`},
		{"'1.2'", `t.yaml:7: sites[0].pue: must be a number, not a string`},
		{"12e-1", ``},
	} {
		_, err := Load("t.yaml", []byte(edit(t, "pue: 1.2", "pue: "+tc.pue)))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("pue %s: %v", tc.pue, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("pue %s:\n got %v\nwant %s…", tc.pue, err, tc.want)
		}
	}
}
