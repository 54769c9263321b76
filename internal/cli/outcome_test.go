package cli

import (
	"errors"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// What run -f says of a job that did not succeed, and its exit code.
func TestJobOutcome(t *testing.T) {
	c143, c3 := 143, 3
	for _, tc := range []struct {
		j    api.Job
		want string
		code int
	}{
		{api.Job{ID: "fc", State: api.StateCancelled, Message: "cancelled", ExitCode: &c143}, "job fc cancelled (exit code 143)", 143},
		{api.Job{ID: "f", State: api.StateFailed, Message: "replica 0 exited with code 3", ExitCode: &c3}, "job f failed: replica 0 exited with code 3", 3},
		{api.Job{ID: "l", State: api.StateFailed, Message: "replica 0 lost: its node stopped reporting"}, "job l failed: replica 0 lost: its node stopped reporting", ExitFailure},
	} {
		err := jobOutcome(&tc.j)
		var ex exitError
		if !errors.As(err, &ex) || err.Error() != tc.want || ex.code != tc.code {
			t.Errorf("%s: %v (code %d), want %q (code %d)", tc.j.ID, err, ex.code, tc.want, tc.code)
		}
	}
}
