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

// TestIntegerForms: a whole-number field said 1e3 and an integer beyond
// uint64 were "not a string", .inf and 1.5 "not a number", and one just
// beyond int64 was shown clamped to 9223372036854775807. Each is now
// named for what it is.
func TestIntegerForms(t *testing.T) {
	const gpus = `t.yaml:16: sites[0].halls[0].racks[0].nodes[0].gpus: `
	const nominal = `t.yaml:26: tenants[0].quota.H100.nominal: `
	for _, tc := range []struct{ old, new, want string }{
		{"gpus: 8", "gpus: 1e3", gpus + `1e3 is written as a decimal number; write 1000`},
		{"gpus: 8", "gpus: 2e3", gpus + `2e3 is out of range; use a whole number from 0 to 1024`},
		{"gpus: 8", "gpus: 8e0", gpus + `8e0 is written as a decimal number; write 8`},
		{"gpus: 8", "gpus: 8.0", gpus + `8.0 is written as a decimal number; write 8`},
		{"gpus: 8", "gpus: 1.5", gpus + `1.5 is not a whole number; use a whole number from 0 to 1024`},
		{"gpus: 8", "gpus: .inf", gpus + `.inf is not a finite number; use a whole number from 0 to 1024`},
		{"gpus: 8", "gpus: .nan", gpus + `.nan is not a finite number; use a whole number from 0 to 1024`},
		{"gpus: 8", "gpus: 1e400", gpus + `1e400 is beyond any usable number; use a whole number from 0 to 1024`},
		{"gpus: 8", "gpus: 99999999999999999999", gpus + `99999999999999999999 is out of range; use a whole number from 0 to 1024`},
		{"gpus: 8", "gpus: 9223372036854775808", gpus + `9223372036854775808 is out of range; use a whole number from 0 to 1024`},
		{"gpus: 8", "gpus: '8'", gpus + `must be a whole number, not a string`},
		{"nominal: 16", "nominal: 1.6e1", nominal + `1.6e1 is written as a decimal number; write 16`},
		{"nominal: 16", "nominal: -.inf", nominal + `-.inf is not a finite number; use a whole number from 0 to 2147483647`},
		{"nominal: 16", "nominal: 18446744073709551615", nominal + `18446744073709551615 is out of range; use a whole number from 0 to 2147483647`},
	} {
		_, err := Load("t.yaml", []byte(edit(t, tc.old, tc.new)))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s…", tc.new, err, tc.want)
		}
	}
}
