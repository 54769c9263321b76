package server

import (
	"context"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsHandler serves g's metrics as GET /metrics of the operator
// listener, to the principals that may read the server's metrics,
// authenticated as the server authenticates them (cfg's token keys, the
// tokens in cfg.Store): for a replica that runs no server, a standby,
// whose /metrics are its process's own, not the leader's. It reads the
// store at each request (tokens cached as the server caches them).
func MetricsHandler(cfg Config, g prometheus.Gatherer) (http.Handler, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, store: cfg.Store}
	if err := s.initTokens(); err != nil {
		return nil, err
	}
	serve := s.guard("metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP)
	var mu sync.Mutex
	legacyRead := false // the legacy key is read until the store records it
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			problemf(w, http.StatusMethodNotAllowed, "%s /metrics: only GET", r.Method)
			return
		}
		mu.Lock() // scrapes are few: one at a time
		defer mu.Unlock()
		if !legacyRead {
			legacyRead = s.readLegacyKey(r.Context())
		}
		serve(w, r)
	}), nil
}

// readLegacyKey sets the key of the tokens that name none from the
// store's record, as the leader recorded it, and reports whether the
// store has one; without it (no leader ever ran on the store, or it
// cannot be read) it is this server's key, as a first leader's would be.
// Caller holds the handler's lock, as do the readers of s.keyLegacy.
func (s *Server) readLegacyKey(ctx context.Context) bool {
	k, found, err := readTokenKey(ctx, s.store)
	s.keyLegacy = s.keyID
	if err == nil && found && k.Legacy != "" {
		s.keyLegacy = k.Legacy
	}
	return err == nil && found
}
