package server

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// noWatchLimit is a holder's limit of streams that a test of the
// hub's order never reaches.
const noWatchLimit = 1 << 20

// drain takes what ch holds now; closed reports that it was closed.
func drain(ch chan api.Event) (evs []api.Event, closed bool) {
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return evs, true
			}
			evs = append(evs, ev)
		default:
			return evs, false
		}
	}
}

func evSeqs(seqs ...int64) []api.Event {
	evs := make([]api.Event, len(seqs))
	for i, s := range seqs {
		evs[i] = api.Event{Seq: s}
	}
	return evs
}

func mustSubscribe(t *testing.T, h *hub) chan api.Event {
	t.Helper()
	ch, err := h.subscribe("", "test", noWatchLimit)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func wantSeqs(t *testing.T, ch chan api.Event, want ...int64) {
	t.Helper()
	evs, closed := drain(ch)
	if closed {
		t.Fatalf("the stream ended; want %v", want)
	}
	if got := seqsOf(evs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the stream carried %v, want %v", got, want)
	}
}

// Two writes in flight that end out of seq order reach the stream in
// seq order; a failed write, which took no seq, holds nothing up.
func TestHubOrdersWrites(t *testing.T) {
	h := newHub()
	ch := mustSubscribe(t, h)
	a, b, c := h.begin(), h.begin(), h.begin()
	b.done(evSeqs(12, 13))
	wantSeqs(t, ch) // a may take 11
	c.failed(false)
	a.done(evSeqs(11))
	wantSeqs(t, ch, 11, 12, 13)
	// A write begun now commits after 13: nothing holds 14 up.
	d, e := h.begin(), h.begin()
	e.done(evSeqs(15))
	wantSeqs(t, ch)
	d.failed(false) // a seq the store skipped, as PostgreSQL's do
	wantSeqs(t, ch, 15)
}

// A write that failed but may have been saved ends every stream: its
// event, if saved, has a seq the hub never saw. New streams are refused
// until the writes begun before have ended, then carry what follows.
func TestHubBreaksWhenAWriteMayHaveBeenSaved(t *testing.T) {
	h := newHub()
	ch := mustSubscribe(t, h)
	h.begin().done(evSeqs(1))
	wantSeqs(t, ch, 1)
	b, c := h.begin(), h.begin()
	c.failed(true)
	if _, closed := drain(ch); !closed {
		t.Fatal("the stream goes on after a write that may have been saved failed")
	}
	if _, err := h.subscribe("", "test", noWatchLimit); !errors.Is(err, errResync) {
		t.Fatalf("subscribe while b is in flight: %v, want errResync", err)
	}
	d := h.begin()
	b.done(evSeqs(2)) // dropped: c's event may come before it, d's too
	if _, err := h.subscribe("", "test", noWatchLimit); !errors.Is(err, errResync) {
		t.Fatalf("subscribe while d is in flight: %v, want errResync", err)
	}
	d.done(evSeqs(5))
	ch = mustSubscribe(t, h)
	h.begin().done(evSeqs(6))
	wantSeqs(t, ch, 6)
}

// Events held for a write that does not end are bounded: past maxHeld,
// the hub ends every stream and drops them.
func TestHubBoundsWhatItHolds(t *testing.T) {
	h := newHub()
	h.maxHeld = 4
	ch := mustSubscribe(t, h)
	stuck := h.begin()
	for seq := range int64(5) {
		h.begin().done(evSeqs(10 + seq))
	}
	if _, closed := drain(ch); !closed {
		t.Fatal("the stream goes on while 5 events wait on a write")
	}
	if _, err := h.subscribe("", "test", noWatchLimit); !errors.Is(err, errResync) {
		t.Fatalf("subscribe while the stuck write is in flight: %v, want errResync", err)
	}
	stuck.done(evSeqs(9))
	ch = mustSubscribe(t, h)
	h.begin().done(evSeqs(20))
	wantSeqs(t, ch, 20)
}

// The hub against a model of the store: writes begin, commit (taking
// the next seqs, skipping some), fail before or after committing and
// end, in random order, while watchers come and go. Each stream carries
// increasing seqs with no committed event between two it carried, and a
// stream still open at the end carried every event committed after it
// opened.
func TestHubAgainstAStore(t *testing.T) {
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { hubRun(t, seed) })
	}
}

type modelWrite struct {
	w         *write
	committed bool
	evs       []api.Event
}

type modelWatcher struct {
	ch     chan api.Event
	opened int64 // the store's last seq when it opened
	got    []api.Event
	closed bool
}

func hubRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	h := newHub()
	if seed%3 == 0 {
		h.maxHeld = 1 + rng.IntN(6)
	}
	var (
		seq      int64   // the store's last seq
		stored   []int64 // every seq committed
		flight   []*modelWrite
		watchers []*modelWatcher
	)
	end := func(i int) {
		mw := flight[i]
		flight = slices.Delete(flight, i, i+1)
		switch {
		case !mw.committed:
			seq += int64(rng.IntN(2)) // a rolled-back write may use seqs up
			mw.w.failed(false)
		case rng.IntN(20) == 0:
			mw.w.failed(true) // saved, but its answer was lost
		default:
			mw.w.done(mw.evs)
		}
	}
	for step := 0; step < 400 || len(flight) > 0; step++ {
		switch r := rng.IntN(10); {
		case step >= 400:
			end(rng.IntN(len(flight)))
		case r < 3:
			flight = append(flight, &modelWrite{w: h.begin()})
		case r < 6 && len(flight) > 0:
			mw := flight[rng.IntN(len(flight))]
			if !mw.committed {
				mw.committed = true
				seq += int64(rng.IntN(2)) // seqs the store skipped
				for range rng.IntN(4) {
					seq++
					stored = append(stored, seq)
					mw.evs = append(mw.evs, api.Event{Seq: seq})
				}
			}
		case r < 9 && len(flight) > 0:
			end(rng.IntN(len(flight)))
		case r == 9:
			if ch, err := h.subscribe("", "test", noWatchLimit); err == nil {
				watchers = append(watchers, &modelWatcher{ch: ch, opened: seq})
			} else if !errors.Is(err, errResync) {
				t.Fatal(err)
			}
		}
		for _, mw := range watchers {
			if !mw.closed {
				evs, closed := drain(mw.ch)
				mw.got, mw.closed = append(mw.got, evs...), closed
			}
		}
	}
	if h.broken || len(h.held) > 0 || len(h.open) > 0 {
		t.Fatalf("every write ended, yet broken %v, %d held, %d open", h.broken, len(h.held), len(h.open))
	}
	for i, mw := range watchers {
		got := seqsOf(mw.got)
		for j := 1; j < len(got); j++ {
			if got[j] <= got[j-1] {
				t.Fatalf("watcher %d got %d after %d: %v", i, got[j], got[j-1], got)
			}
		}
		if len(got) > 0 {
			lo, _ := slices.BinarySearch(stored, got[0])
			hi, _ := slices.BinarySearch(stored, got[len(got)-1])
			if want := stored[lo : hi+1]; !slices.Equal(got, want) {
				t.Fatalf("watcher %d got %v; the store holds %v between its first and last", i, got, want)
			}
		}
		if !mw.closed {
			from, _ := slices.BinarySearch(stored, mw.opened+1)
			for _, s := range stored[from:] {
				if !slices.Contains(got, s) {
					t.Fatalf("watcher %d, open to the end, opened at seq %d, missed %d: got %v", i, mw.opened, s, got)
				}
			}
		}
	}
}

// A stream counts against its holder from subscribe until its handler
// lets go of it: one the hub dropped (a full buffer, a break) may still
// be writing a replay, so it keeps its place until unsubscribe.
func TestHubCountsAStreamUntilLetGo(t *testing.T) {
	h := newHub()
	ch, err := h.subscribe("", "tenant a", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.subscribe("a", "tenant a", 1); !errors.Is(err, errTooManyWatch) {
		t.Fatalf("a second stream of a holder with a limit of 1: %v, want errTooManyWatch", err)
	}
	if _, err := h.subscribe("", "operator", 1); err != nil {
		t.Fatalf("another holder's stream: %v", err)
	}
	for seq := range int64(watchBuffer + 1) { // more than ch holds: the hub drops it
		h.begin().done(evSeqs(seq + 1))
	}
	if evs, closed := drain(ch); !closed || len(evs) != watchBuffer {
		t.Fatalf("after %d events the stream carried %d, closed %v; want %d and closed", watchBuffer+1, len(evs), closed, watchBuffer)
	}
	if _, err := h.subscribe("", "tenant a", 1); !errors.Is(err, errTooManyWatch) {
		t.Fatalf("a stream of a holder whose dropped stream is not let go: %v, want errTooManyWatch", err)
	}
	h.unsubscribe(ch)
	h.unsubscribe(ch) // a no-op
	if _, err := h.subscribe("", "tenant a", 1); err != nil {
		t.Fatalf("a stream of a holder whose one stream was let go: %v", err)
	}
}
