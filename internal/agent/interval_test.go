package agent

import (
	"testing"
	"time"
)

// A heartbeat interval from the server that does not fit a duration
// (1e10 s overflows one, 1e300 s is infinite in nanoseconds) or that is
// too short to be meant (1 ns) does not make the agent beat in a tight
// loop: the interval stays within [minHeartbeat, maxGrace].
func TestHeartbeatIntervalFromTheServerIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name    string
		seconds float64
		want    time.Duration
	}{{"overflowing", 1e10, maxGrace}, {"infinite in ns", 1e300, maxGrace}, {"one ns", 1e-9, minHeartbeat}} {
		for _, where := range []string{"registration", "heartbeat"} {
			t.Run(tc.name+" in "+where, func(t *testing.T) {
				srv := newFakeServer()
				s := tc.seconds
				if where == "registration" {
					srv.interval = s
				} else {
					srv.hbInterval = &s
				}
				a := startAgent(t, srv)
				interval := func() time.Duration {
					a.mu.Lock()
					defer a.mu.Unlock()
					return a.interval
				}
				// Once a heartbeat's answer is applied (the fake records
				// the heartbeat before the agent reads its answer).
				eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) > 0 && interval() == tc.want },
					"heartbeat interval %v after the server said %g s, want %v", interval(), s, tc.want)
			})
		}
	}
}
