package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	for _, tc := range []struct {
		args []string
		want int
		msg  string
	}{
		{[]string{"facility", "validate", smallFacility}, 0, ""},
		{[]string{"schedule"}, ExitUsage, "required flag"},
		{[]string{"schedule", "--facility", smallFacility, "--workload", smallJobs, "--bogus"}, ExitUsage, "unknown flag"},
		{[]string{"frobnicate"}, ExitUsage, "unknown command"},
		{[]string{"schedule", "--facility", missing, "--workload", smallJobs}, ExitFailure, "missing.yaml"},
		{[]string{"--version"}, 0, ""},
	} {
		var out, errb bytes.Buffer
		if got := Main(tc.args, &out, &errb); got != tc.want || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("carnot %v: exit %d, stderr %q; want exit %d and %q", tc.args, got, errb.String(), tc.want, tc.msg)
		}
	}
}

// A missing or extra argument is named, with the command's usage, not
// cobra's "accepts 1 arg(s), received 0".
func TestArgumentErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--gpus", "1"}, "error: carnot run needs COMMAND: carnot run [flags] [--] COMMAND [ARGS…]\n"},
		{[]string{"logs"}, "error: carnot logs needs JOB: carnot logs [-f] [--replica N] [--stderr] [--attempt N] JOB\n"},
		{[]string{"logs", "a", "b"}, "error: carnot logs takes one JOB, got 2 arguments (a b): carnot logs [-f] [--replica N] [--stderr] [--attempt N] JOB\n"},
		{[]string{"describe"}, "error: carnot describe needs JOB: carnot describe JOB [-o table|json|yaml]\n"},
		{[]string{"why"}, "error: carnot why needs JOB: carnot why JOB [-o table|json|yaml]\n"},
		{[]string{"cancel"}, "error: carnot cancel needs JOB: carnot cancel JOB…\n"},
		{[]string{"events", "a", "b"}, "error: carnot events takes at most one JOB, got 2 arguments (a b): carnot events [JOB] [--after SEQ] [-f] [-o table|json|yaml]\n"},
	} {
		code, _, errs := carnot(append(tt.args, "--server", "127.0.0.1:1")...)
		if code != ExitUsage {
			t.Errorf("carnot %v: exit %d, want %d", tt.args, code, ExitUsage)
		}
		want := tt.want + "run 'carnot " + tt.args[0] + " --help' for usage\n"
		if errs != want {
			t.Errorf("carnot %v:\ngot  %q\nwant %q", tt.args, errs, want)
		}
	}
}
