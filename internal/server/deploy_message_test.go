package server

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
)

// The started event of a running deployment that gains one replica says
// "1 more replica", not "1 more replicas".
func TestStartedEventOfOneMoreReplica(t *testing.T) {
	e, d := crashLoop(t)
	e.clock.add(time.Second)
	e.report("n1", running(d, 0, 1), exited(d, 1, 1, 1))
	e.pass()
	want := []string{"attempt 1 on n1:[0] n1:[1]; in site local [EU FR]", "1 more replica on n1:[1]; in site local [EU FR]"}
	if d := cmp.Diff(want, e.eventsOf(d, api.EventStarted)); d != "" {
		t.Errorf("started events (-want +got):\n%s", d)
	}
}
