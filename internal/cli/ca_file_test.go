package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestUnreadableCA: a CA file that cannot be read exited 2, as a
// command line that cannot be run, with "run 'carnot jobs --help' for
// usage", and blamed --ca when the file came from CARNOT_CA. A file that
// cannot be read is a failure (exit 1, as --tls-cert, --grid or --state
// files are), and the error names where the file was given.
func TestUnreadableCA(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ca.crt")
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	writeTestFile(t, notPEM, "not a certificate\n")
	for _, c := range []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"--ca missing", "", []string{"jobs", "--ca", missing}, "--ca " + missing + ": "},
		{"--ca not PEM", "", []string{"run", "--ca", notPEM, "--gpus", "1", "true"}, "--ca " + notPEM + ": "},
		{"CARNOT_CA missing", missing, []string{"nodes"}, "CARNOT_CA " + missing + ": "},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("CARNOT_CA", c.env)
			code, _, errs := carnot(append(c.args, "--server", deadServer(t))...)
			if code != ExitFailure || !strings.HasPrefix(errs, "error: "+c.want) || strings.Contains(errs, "--help") {
				t.Errorf("exit %d, stderr %q\nwant exit %d, stderr starting %q and no usage hint", code, errs, ExitFailure, "error: "+c.want)
			}
		})
	}
}
