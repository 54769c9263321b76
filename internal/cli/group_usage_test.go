package cli

import (
	"strings"
	"testing"
)

// TestUnknownSubcommand: a mistyped subcommand of a command group
// (`carnot workload valdiate jobs.yaml`, `carnot token crate`) printed
// the group's help and exited 0, so a script took it for a success,
// where `carnot nosuch` exits 2. It is a usage error naming the word,
// with a suggestion when one is close; the group alone still prints its
// help and exits 0.
func TestUnknownSubcommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"workload", "valdiate", "jobs.yaml"}, `error: unknown command "valdiate" for "carnot workload" (did you mean validate?)`},
		{[]string{"token", "crate", "x"}, `error: unknown command "crate" for "carnot token" (did you mean create?)`},
		{[]string{"facility", "nosuch"}, `error: unknown command "nosuch" for "carnot facility"`},
		{[]string{"audit", "nosuch"}, `error: unknown command "nosuch" for "carnot audit"`},
		{[]string{"completion", "fish2"}, `error: unknown command "fish2" for "carnot completion" (did you mean fish?)`},
	} {
		code, out, errs := carnot(c.args...)
		if code != ExitUsage || out != "" || !strings.HasPrefix(errs, c.want+"\n") {
			t.Errorf("%s: exit %d, stdout %d bytes, stderr %q\nwant exit %d, stderr starting %q", strings.Join(c.args, " "), code, len(out), errs, ExitUsage, c.want)
		}
	}
	for _, group := range []string{"workload", "token", "facility", "audit"} {
		if code, out, _ := carnot(group); code != 0 || !strings.Contains(out, "Available Commands") {
			t.Errorf("%s alone: exit %d, want its help and 0", group, code)
		}
	}
}
