package server

import (
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// A job submitted while a pass can start it at once: watchers hear of
// its submission before its start, and in the order of the events'
// sequence numbers. The pass here runs between the submission's
// release of the server's lock and its return, where the loop may run.
func TestWatchHearsSubmissionBeforeStart(t *testing.T) {
	e := devEnv(t)
	ch, err := e.s.watch.subscribe("", "test", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer e.s.watch.unsubscribe(ch)
	e.s.afterAdopt = e.pass
	id := e.submit(spec(1, 1))
	e.s.afterAdopt = nil
	var got []api.Event
	for len(got) < 2 {
		select {
		case ev := <-ch:
			if ev.Job == id {
				got = append(got, ev)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("events of %s on the stream: %+v; want submitted and started", id, got)
		}
	}
	if got[0].Type != api.EventSubmitted || got[1].Type != api.EventStarted || got[0].Seq >= got[1].Seq {
		t.Errorf("the stream gave %s (seq %d) then %s (seq %d); want submitted, then started",
			got[0].Type, got[0].Seq, got[1].Type, got[1].Seq)
	}
}
