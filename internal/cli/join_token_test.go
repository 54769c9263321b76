package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

const testJoin = "carnot_0123456789abcdef_0123456789012345678901234567890123456789012"

// The join token in $CARNOT_JOIN_TOKEN is the agent's private way to get
// it: the help text does not show it as the flag's default.
func TestAgentHelpDoesNotShowTheJoinToken(t *testing.T) {
	t.Setenv("CARNOT_JOIN_TOKEN", testJoin)
	out, err := runCLI(t, "agent", "--help")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, testJoin) {
		t.Errorf("carnot agent --help shows $CARNOT_JOIN_TOKEN:\n%s", out)
	}
	if !strings.Contains(out, "CARNOT_JOIN_TOKEN") {
		t.Errorf("carnot agent --help does not name CARNOT_JOIN_TOKEN:\n%s", out)
	}
}

// --join-token wins over $CARNOT_JOIN_TOKEN but warns that the command
// line is visible to every user of the machine; the environment alone
// warns of nothing.
func TestJoinTokenFlagWarns(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want string
		warn bool
	}{
		{nil, testJoin, testJoin, false},
		{[]string{"--join-token", "carnot_flag"}, testJoin, "carnot_flag", true},
		{[]string{"--join-token", "carnot_flag"}, "", "carnot_flag", true},
		{nil, "", "", false},
	} {
		t.Setenv("CARNOT_JOIN_TOKEN", c.env)
		o := &agentOpts{}
		cmd := &cobra.Command{Use: "agent"}
		o.flags(cmd, true)
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		var errOut bytes.Buffer
		cmd.SetErr(&errOut)
		got := o.joinToken(cmd)
		if got != c.want {
			t.Errorf("%v with $CARNOT_JOIN_TOKEN=%q: join token %q, want %q", c.args, c.env, got, c.want)
		}
		warned := strings.Contains(errOut.String(), "CARNOT_JOIN_TOKEN")
		if warned != c.warn {
			t.Errorf("%v: warned %v (%q), want %v", c.args, warned, errOut.String(), c.warn)
		}
		if strings.Contains(errOut.String(), "carnot_flag") {
			t.Errorf("the warning repeats the token: %q", errOut.String())
		}
	}
}
