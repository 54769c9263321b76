package cli

import (
	"strings"
	"testing"
)

// A JOB given as "" (a shell variable that is not set: carnot events
// "$JOB") is a usage error naming it: before, events printed every event
// of the server as if no JOB had been given, and the others failed with
// the API path ("/v1/jobs//why: an ID or name must not be empty").
func TestEmptyJobArgumentIsRefused(t *testing.T) {
	f := newFake(t)
	for _, args := range [][]string{
		{"events", ""}, {"logs", ""}, {"describe", ""}, {"why", ""}, {"cancel", "a", ""},
	} {
		code, out, errs := carnot(append(args, "--server", f.srv.URL)...)
		if code != ExitUsage || !strings.Contains(errs, "JOB must not be empty") {
			t.Errorf("carnot %q: exit %d, stdout %q, stderr %q; want a usage error saying JOB must not be empty", args, code, out, errs)
		}
	}
	if n := len(f.requests("GET", "/v1/events")) + len(f.requests("POST", "/v1/jobs/a/cancel")); n != 0 {
		t.Errorf("%d requests sent for an empty JOB", n)
	}
}
