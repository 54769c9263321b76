package server

import (
	"net/http"
	"sync"
)

// streamCounts counts the streams each holder (watchHolder) has open.
type streamCounts struct {
	mu sync.Mutex
	n  map[string]int
}

// take opens a stream for holder if it has fewer than most open; the
// caller calls release when the stream ends.
func (c *streamCounts) take(holder string, most int) (release func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[holder] >= most {
		return nil, false
	}
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[holder]++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.n[holder]--; c.n[holder] <= 0 {
			delete(c.n, holder)
		}
	}, true
}

// tooManyStreams answers 429: holder has most streams of what open.
func tooManyStreams(w http.ResponseWriter, what, holder string, most int) {
	w.Header().Set("Retry-After", "15")
	problemf(w, http.StatusTooManyRequests, "too many %s: %s holds %d open, the most it may; close one (its tokens together, for a tenant)",
		what, holder, most)
}
