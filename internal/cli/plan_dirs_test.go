package cli

import (
	"errors"
	"testing"

	"github.com/carnot-dc/carnot/internal/scenario"
)

// carnot plan's last line names the directories it wrote: none for a
// scenario that failed.
func TestScenarioDirs(t *testing.T) {
	ok, bad := scenario.Outcome{Name: "a"}, scenario.Outcome{Name: "b", Err: errors.New("boom")}
	for _, c := range []struct {
		in   []scenario.Outcome
		want string
	}{
		{[]scenario.Outcome{ok, ok}, "one directory per scenario"},
		{[]scenario.Outcome{ok, bad, ok}, "one directory per scenario that ran (1 of 3 failed)"},
		{[]scenario.Outcome{bad, bad}, "no scenario directory (every scenario failed)"},
	} {
		if got := scenarioDirs(c.in); got != c.want {
			t.Errorf("scenarioDirs(%d outcomes) = %q, want %q", len(c.in), got, c.want)
		}
	}
}
