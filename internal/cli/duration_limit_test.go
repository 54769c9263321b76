package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDurationLimitsNamed: a duration flag beyond its limit said the
// limit in seconds ("must be from 0 to 3153600000 seconds"). Each says
// it as years and days, after the flag's name.
func TestDurationLimitsNamed(t *testing.T) {
	work := filepath.Join("..", "..", "examples", "jobs-small-generated.jsonl")
	sim := []string{"sim", "--facility", smallFacility, "--workload", work, "--out", t.TempDir()}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(sim, "--gpu-mtbf", "36501d"), `error: --gpu-mtbf: must be from 0 to 100 years (36500d); got "36501d"` + "\n"},
		{append(sim, "--mtbf", "3651d"), `error: --mtbf: must be from 0 to 10 years (3650d); got "3651d"` + "\n"},
		{[]string{"run", "--runtime-limit", "36501d", "--server", "127.0.0.1:1", "x"}, `--runtime-limit: must be from 0 to 100 years (36500d); got "36501d"`},
		{[]string{"run", "--checkpoint-grace", "876001h", "--server", "127.0.0.1:1", "x"}, `--checkpoint-grace: must be from 0 to 100 years (36500d); got "876001h"`},
	} {
		code, _, errs := carnot(tc.args...)
		if code != ExitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("carnot %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errs, ExitUsage, tc.want)
		}
	}
}
