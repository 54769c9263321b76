package cli

import (
	"strings"
	"testing"
	"time"
)

// TestLogsFollowServerDown: `carnot logs -f JOB` against a server that
// cannot be reached retried for ever ("reconnecting in 30s", again and
// again), while every other command, `events -f` included, fails at
// once. A follower rides out a server it has reached going away; one it
// never reached fails as the others do, exit 1, saying what to do.
func TestLogsFollowServerDown(t *testing.T) {
	defer func(f, m time.Duration) { retryFirst, retryMax = f, m }(retryFirst, retryMax)
	retryFirst, retryMax = time.Millisecond, time.Millisecond
	addr := deadServer(t)
	want := "error: cannot reach the Carnot server at https://" + addr +
		": connection refused (start one with \"carnot dev\", or point --server / CARNOT_ADDR at one)\n"
	for _, args := range [][]string{
		{"logs", "-f", "j1"},
		{"logs", "-f", "--attempt", "1", "j1"},
		{"logs", "-f", "--replica", "1", "--stderr", "j1"},
	} {
		type result struct {
			code      int
			out, errs string
		}
		done := make(chan result, 1)
		go func() {
			code, out, errs := carnot(append(args, "--server", addr)...)
			done <- result{code, out, errs}
		}()
		select {
		case r := <-done:
			if r.code != ExitFailure || r.errs != want || r.out != "" {
				t.Errorf("%s: exit %d, stdout %q, stderr %q\nwant exit %d, stderr %q", strings.Join(args, " "), r.code, r.out, r.errs, ExitFailure, want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: still running after 5s against a server that is not there", strings.Join(args, " "))
		}
	}
}
