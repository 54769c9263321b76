package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/agent"
)

// The --gc-* and --task-log-max-mib flags make the agent's Retention:
// the defaults, -1 for no limit, and 0 refused (it would read as "the
// default" to the agent).
func TestAgentRetentionFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want agent.Retention
		bad  bool
	}{
		{nil, agent.Retention{MaxTasks: 100, MaxAge: 7 * 24 * time.Hour, DiskPercent: 90, Interval: time.Minute, LogMaxBytes: 64 << 20}, false},
		{[]string{"--gc-max-tasks", "-1", "--gc-max-age", "-1s", "--gc-disk-percent", "-1", "--task-log-max-mib", "-1", "--gc-interval", "10s"},
			agent.Retention{MaxTasks: -1, MaxAge: -time.Second, DiskPercent: -1, Interval: 10 * time.Second, LogMaxBytes: -1}, false},
		{[]string{"--gc-max-tasks", "3", "--gc-max-age", "2h", "--task-log-max-mib", "1"},
			agent.Retention{MaxTasks: 3, MaxAge: 2 * time.Hour, DiskPercent: 90, Interval: time.Minute, LogMaxBytes: 1 << 20}, false},
		{[]string{"--gc-max-tasks", "0"}, agent.Retention{}, true},
		{[]string{"--gc-max-age", "0s"}, agent.Retention{}, true},
		{[]string{"--task-log-max-mib", "0"}, agent.Retention{}, true},
		{[]string{"--gc-interval", "0s"}, agent.Retention{}, true},
		// a share of the disk that can never be reached, or none
		{[]string{"--gc-disk-percent", "150"}, agent.Retention{}, true},
		{[]string{"--gc-disk-percent", "-5"}, agent.Retention{}, true},
	} {
		var k keepOpts
		c := &cobra.Command{}
		k.flags(c)
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		got, err := k.retention()
		var ue usageError
		if tc.bad != errors.As(err, &ue) {
			t.Errorf("%v: error %v, want a usage error: %v", tc.args, err, tc.bad)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.args, diff)
		}
	}
}

// --shutdown-grace caps the tasks' grace when the agent stops: 10s by
// default, up to an hour; a negative or longer one is refused before the
// agent enrolls.
func TestAgentShutdownGraceFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
		bad  bool
	}{
		{nil, 10 * time.Second, false},
		{[]string{"--shutdown-grace", "2m"}, 2 * time.Minute, false},
		{[]string{"--shutdown-grace", "-1s"}, -time.Second, true},
		{[]string{"--shutdown-grace", "2h"}, 2 * time.Hour, true},
	} {
		var o agentOpts
		c := &cobra.Command{}
		o.flags(c, true)
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		err := o.checkAgentFlags()
		var ue usageError
		if o.shutdownGrace != tc.want || tc.bad != errors.As(err, &ue) {
			t.Errorf("%v: grace %s, error %v; want %s, a usage error: %v", tc.args, o.shutdownGrace, err, tc.want, tc.bad)
		}
	}
}

// --cgroups is auto by default; off and required are taken; anything
// else is a usage error naming the values, before the agent enrolls.
func TestAgentCgroupsFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		bad  bool
	}{
		{nil, "auto", false},
		{[]string{"--cgroups", "off"}, "off", false},
		{[]string{"--cgroups", "required"}, "required", false},
		{[]string{"--cgroups", "yes"}, "yes", true},
	} {
		var o agentOpts
		c := &cobra.Command{}
		o.flags(c, true)
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		err := o.checkAgentFlags()
		var ue usageError
		if o.cgroups != tc.want || tc.bad != errors.As(err, &ue) {
			t.Errorf("%v: cgroups %q, error %v; want %q, a usage error: %v", tc.args, o.cgroups, err, tc.want, tc.bad)
		}
		if tc.bad && !strings.Contains(err.Error(), "want auto, off or required") {
			t.Errorf("%v: error %v does not name the values", tc.args, err)
		}
	}
}
