package server

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"sync"

	"github.com/carnot-dc/carnot/internal/api"
)

// hub fans committed events out to watchers (GET /v1/watch), in
// increasing seq order, leaving none out: a watcher that saw seq N and
// resumes after N misses nothing.
//
// Writes that record events run concurrently (a submission does not hold
// the server's lock while its store call commits), so they end out of
// seq order. The hub puts them back in order without knowing which seqs
// will come: each store call that records events is a write, begun
// before the call and ended after it. A write begun after another ended
// commits after it, so its events get higher seqs than every event the
// hub held when it began (its floor). An event is therefore let go once
// no write in flight has a floor below its seq; until then it is held.
// A failed write, a seq the store skipped or an event no write carries
// holds nothing up: the hub waits for writes, not for seqs.
//
// When the hub cannot keep that promise (a write failed and may have
// been saved all the same, or more than maxHeld events wait on a write
// that does not end) it breaks: it ends every stream and drops what it
// held, and refuses new streams (errResync) until every write that may
// hold a seq below those dropped has ended. A watcher resumes from the
// store with after= and misses nothing.
//
// A watcher that falls behind by more than its buffer is dropped the
// same way: its stream ends and the client resumes with after=.
//
// Each holder (a tenant, or a facility-wide token) has at most a given
// number of streams at once. A stream counts from subscribe until its
// handler lets go of it (unsubscribe), replay included, even once the
// hub dropped it: a handler still writing a long replay holds its place.
type hub struct {
	mu      sync.Mutex
	subs    map[chan api.Event]*watcher
	holders streamCounts // holder → its streams not let go yet
	closed  bool

	// open are the writes in flight in the order they began (ended ones
	// leave it once they reach its front); next is the serial of the
	// next write.
	open []*write
	next uint64
	// top is the highest seq handed to the hub.
	top int64
	// held are the events waiting for a write in flight, by seq.
	held    []api.Event
	maxHeld int

	// broken is set from a break until the hub mended: the events of
	// the writes with a serial below lossy are dropped, and it mends
	// once every write with a serial below mend has ended.
	broken      bool
	lossy, mend uint64
}

// watcher is one stream, from subscribe until unsubscribe: what it is
// for, whose it is, and whether the hub dropped it (closed its channel).
type watcher struct {
	tenant  string // "" = all
	release func() // frees its place among its holder's streams
	dropped bool
}

const (
	watchBuffer = 1024
	// maxHeld bounds the events the hub holds for a write in flight.
	maxHeld = 1 << 16
)

// Why subscribe refuses a watcher.
var (
	errHubClosed    = errors.New("the server is shutting down")
	errResync       = errors.New("the event stream is catching up after a store error; retry with after= set to the last seq seen")
	errTooManyWatch = errors.New("too many watch streams")
)

func newHub() *hub {
	return &hub{subs: map[chan api.Event]*watcher{}, maxHeld: maxHeld}
}

// A write is one store call that records events, tracked by the hub
// from before the call (hub.begin) until it ended, by done or failed
// (the first of them ends it; the others do nothing). A write that never
// ends holds every event after it, then keeps new streams away.
type write struct {
	h      *hub
	serial uint64
	floor  int64 // the hub's top when it began: its events' seqs are higher
	ended  bool
}

// begin tracks a write about to be made: call it before the store call.
func (h *hub) begin() *write {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := &write{h: h, serial: h.next, floor: h.top}
	h.next++
	h.open = append(h.open, w)
	return w
}

// done ends w, whose store call committed evs (with their seqs).
func (w *write) done(evs []api.Event) {
	h := w.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.ended {
		return
	}
	w.ended = true
	for _, ev := range evs {
		h.top = max(h.top, ev.Seq)
	}
	if h.broken && w.serial < h.lossy {
		// Its events may be below some of those dropped at the break:
		// the writes begun until now may have seqs below these.
		h.mend = h.next
	} else {
		for _, ev := range evs {
			i, _ := slices.BinarySearchFunc(h.held, ev.Seq, func(e api.Event, seq int64) int { return cmp.Compare(e.Seq, seq) })
			h.held = slices.Insert(h.held, i, ev)
		}
	}
	h.settle()
}

// failed ends w, whose store call failed; saved says that it may have
// committed all the same (the hub then cannot tell which seqs it took).
func (w *write) failed(saved bool) {
	h := w.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.ended {
		return
	}
	w.ended = true
	if saved {
		h.breakLocked()
	}
	h.settle()
}

// settle drops the ended writes from the front of open, lets go the
// events no write in flight can come before, and mends a broken hub when
// it can. Caller holds h.mu.
func (h *hub) settle() {
	n := 0
	for n < len(h.open) && h.open[n].ended {
		n++
	}
	h.open = slices.Delete(h.open, 0, n)
	limit := int64(math.MaxInt64)
	if len(h.open) > 0 {
		limit = h.open[0].floor
	}
	n = 0
	for n < len(h.held) && h.held[n].Seq <= limit {
		h.fanOut(h.held[n])
		n++
	}
	h.held = slices.Delete(h.held, 0, n)
	if len(h.held) > h.maxHeld {
		h.breakLocked()
	}
	if h.broken && (len(h.open) == 0 || h.open[0].serial >= h.mend) {
		h.broken = false
	}
}

// breakLocked ends every stream and drops the events held: the hub can
// no longer promise them all the events in order. Caller holds h.mu.
func (h *hub) breakLocked() {
	h.dropAll()
	h.held = h.held[:0]
	h.broken = true
	h.lossy, h.mend = h.next, h.next
}

// fanOut sends ev to every stream of its tenant; one whose buffer is
// full is dropped. Caller holds h.mu.
func (h *hub) fanOut(ev api.Event) {
	for ch, w := range h.subs {
		if w.dropped || w.tenant != "" && ev.Tenant != w.tenant {
			continue
		}
		select {
		case ch <- ev:
		default:
			h.drop(ch)
		}
	}
}

// drop ends a stream, if the hub still sends to it: its channel closes.
// It counts against its holder until unsubscribe. Caller holds h.mu.
func (h *hub) drop(ch chan api.Event) {
	if w, ok := h.subs[ch]; ok && !w.dropped {
		w.dropped = true
		close(ch)
	}
}

// dropAll ends every stream. Caller holds h.mu.
func (h *hub) dropAll() {
	for ch := range h.subs {
		h.drop(ch)
	}
}

// subscribe opens a stream of the events of tenant (all for ""), from
// the next event let go on, for holder, unless holder has limit open
// already. The caller lets go of it with unsubscribe.
func (h *hub) subscribe(tenant, holder string, limit int) (chan api.Event, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, errHubClosed
	case h.broken:
		return nil, errResync
	}
	release, ok := h.holders.take(holder, limit)
	if !ok {
		return nil, errTooManyWatch
	}
	ch := make(chan api.Event, watchBuffer)
	h.subs[ch] = &watcher{tenant: tenant, release: release}
	return ch, nil
}

// unsubscribe ends the stream of ch, if the hub did not, and frees its
// place among its holder's.
func (h *hub) unsubscribe(ch chan api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w, ok := h.subs[ch]
	if !ok {
		return
	}
	h.drop(ch)
	delete(h.subs, ch)
	w.release()
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	h.dropAll()
}
