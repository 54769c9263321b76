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
