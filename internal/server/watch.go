package server

import (
	"sync"

	"github.com/carnot-dc/carnot/internal/api"
)

// hub fans events out to watchers (GET /v1/watch). A watcher that falls
// behind by more than its buffer is dropped: its stream ends and the
// client reconnects and catches up from /v1/events.
type hub struct {
	mu     sync.Mutex
	subs   map[chan api.Event]string // channel → tenant filter ("" = all)
	closed bool
}

const watchBuffer = 1024

func newHub() *hub { return &hub{subs: map[chan api.Event]string{}} }

func (h *hub) subscribe(tenant string) (chan api.Event, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	ch := make(chan api.Event, watchBuffer)
	h.subs[ch] = tenant
	return ch, true
}

func (h *hub) unsubscribe(ch chan api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *hub) publish(ev api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch, tenant := range h.subs {
		if tenant != "" && ev.Tenant != tenant {
			continue
		}
		select {
		case ch <- ev:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
