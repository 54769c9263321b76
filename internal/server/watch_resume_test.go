package server

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// An EventSource opened on /v1/watch?after=N reconnects to the same URL
// with the Last-Event-ID it saw: the stream resumes after that one, not
// after N again, which replayed every event since N a second time.
func TestWatchResumesAfterTheLaterOfAfterAndLastEventID(t *testing.T) {
	e := devEnv(t)
	hs := httptest.NewServer(e.h)
	t.Cleanup(hs.Close)
	e.submit(spec(1, 1))
	e.submit(spec(1, 1))
	e.submit(spec(1, 1))
	evs := storedEvents(t, hs, 0)
	if len(evs) < 3 {
		t.Fatalf("%d events stored; want 3 or more", len(evs))
	}
	first, seen := evs[0].Seq, evs[len(evs)-2].Seq
	ch, stop := openStream(t, hs, fmt.Sprintf("?after=%d", first), "Last-Event-ID", fmt.Sprint(seen))
	defer stop()
	select {
	case ev := <-ch:
		if ev.Seq != evs[len(evs)-1].Seq {
			t.Errorf("the resumed stream starts at seq %d; want %d, the one after Last-Event-ID %d (not after after=%d)", ev.Seq, evs[len(evs)-1].Seq, seen, first)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no event in 20 s")
	}
}
