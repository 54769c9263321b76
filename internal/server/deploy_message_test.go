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

// A running deployment whose replica backs off after crashes in a row
// says so in its message, not that the replica waits for room: its GPUs
// stay the deployment's meanwhile (before, "running 1 of 2 replicas on
// n1:[0]; the others wait for room" while n1:[1] was held for it).
func TestDeploymentMessageSaysAReplicaBacksOff(t *testing.T) {
	e, d := crashLoop(t)
	e.clock.add(time.Second)
	e.report("n1", running(d, 0, 1), exited(d, 1, 1, 1))
	e.pass()
	e.report("n1", running(d, 0, 1), running(d, 2, 1))
	e.clock.add(time.Second)
	e.report("n1", running(d, 0, 1), exited(d, 2, 1, 1))
	e.pass()
	until := e.clock.now().Add(10 * time.Second).UTC().Format(time.RFC3339)
	want := "running 1 of 2 replicas on n1:[0]; 1 backing off after crashes until " + until
	if got := e.job(d).Message; got != want {
		t.Errorf("message during the back-off %q; want %q", got, want)
	}
	e.clock.add(10 * time.Second)
	e.report("n1", running(d, 0, 1))
	e.pass()
	if got, want := e.job(d).Message, "running on n1:[0] n1:[1]"; got != want {
		t.Errorf("message once the back-off is over and the replica replaced %q; want %q", got, want)
	}
}
