package cli

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// TestRunFollowInterruptQueued: Ctrl-C on `carnot run -f` while the job
// still waited in the queue said "job a keeps running", as if it ran.
// It says the job stays queued (and how to cancel or follow it), exit
// 130; a running job still "keeps running".
func TestRunFollowInterruptQueued(t *testing.T) {
	defer func(d time.Duration) { pollInterval = d }(pollInterval)
	pollInterval = 5 * time.Millisecond
	for _, tc := range []struct {
		state, waitFor, want string
	}{
		{api.StatePending, "a is pending", `carnot: job a is still queued; "carnot cancel a" removes it, "carnot logs -f a" follows it once it starts`},
		{api.StateRunning, "step 2", `carnot: job a keeps running; "carnot cancel a" stops it, "carnot logs -f a" follows it`},
	} {
		f := newFake(t)
		f.jobs = sampleJobs()[:1]
		f.states = []string{tc.state}
		var out, errb syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- Main([]string{"run", "--server", f.srv.URL, "--id", "a", "--tenant", "lab-a", "-f", "train"}, &out, &errb)
		}()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(errb.String()+out.String(), tc.waitFor) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if !strings.Contains(errb.String()+out.String(), tc.waitFor) {
			t.Fatalf("%s: never saw %q; stderr %q", tc.state, tc.waitFor, errb.String())
		}
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case code := <-done:
			if code != 130 || !strings.Contains(errb.String(), tc.want+"\n") {
				t.Errorf("%s: exit %d, stderr %q\nwant exit 130 and %q", tc.state, code, errb.String(), tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: run -f still follows 5s after SIGINT", tc.state)
		}
	}
}
