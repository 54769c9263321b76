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

// TestHelpUnknownTopic: `carnot help nosuch` printed "Unknown help
// topic" with the root's usage and exited 0. It is a usage error, as
// `carnot nosuch` is; help on a command still prints its help.
func TestHelpUnknownTopic(t *testing.T) {
	for _, args := range [][]string{{"help", "nosuch"}, {"help", "workload", "valdiate"}} {
		code, out, errs := carnot(args...)
		if code != ExitUsage || out != "" || !strings.HasPrefix(errs, "error: unknown help topic ") {
			t.Errorf("%s: exit %d, stdout %d bytes, stderr %q; want a usage error", strings.Join(args, " "), code, len(out), errs)
		}
	}
	for _, args := range [][]string{{"help"}, {"help", "run"}, {"help", "workload", "validate"}} {
		if code, out, errs := carnot(args...); code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%s: exit %d, stderr %q; want the help", strings.Join(args, " "), code, errs)
		}
	}
}
