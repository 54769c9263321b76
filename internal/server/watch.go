package server

import (
	"errors"
	"sync"

	"github.com/carnot-dc/carnot/internal/api"
)

// hub fans events out to watchers (GET /v1/watch). A watcher that falls
// behind by more than its buffer is dropped: its stream ends and the
// client reconnects and catches up from /v1/events. Each holder (a
// tenant, or a facility-wide token) has at most a given number of
// watchers at once.
type hub struct {
	mu     sync.Mutex
	subs   map[chan api.Event]watcher
	held   map[string]int // holder → its watchers
	closed bool
}

// watcher is what a subscription is for and whose it is.
type watcher struct {
	tenant string // "" = all
	holder string
}

const watchBuffer = 1024

// Why subscribe refuses a watcher.
var (
	errHubClosed    = errors.New("the server is shutting down")
	errTooManyWatch = errors.New("too many watch streams")
)

func newHub() *hub { return &hub{subs: map[chan api.Event]watcher{}, held: map[string]int{}} }

// subscribe adds a watcher of tenant's events ("" for all) for holder,
// unless holder has max already.
func (h *hub) subscribe(tenant, holder string, max int) (chan api.Event, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, errHubClosed
	case h.held[holder] >= max:
		return nil, errTooManyWatch
	}
	ch := make(chan api.Event, watchBuffer)
	h.subs[ch] = watcher{tenant: tenant, holder: holder}
	h.held[holder]++
	return ch, nil
}

func (h *hub) unsubscribe(ch chan api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.drop(ch)
}

// drop ends a watcher, if it is still there. Caller holds mu.
func (h *hub) drop(ch chan api.Event) {
	w, ok := h.subs[ch]
	if !ok {
		return
	}
	delete(h.subs, ch)
	close(ch)
	if h.held[w.holder]--; h.held[w.holder] <= 0 {
		delete(h.held, w.holder)
	}
}

func (h *hub) publish(ev api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch, w := range h.subs {
		if w.tenant != "" && ev.Tenant != w.tenant {
			continue
		}
		select {
		case ch <- ev:
		default:
			h.drop(ch)
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		h.drop(ch)
	}
}
