package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/store"
)

// replayPage is how many stored events a resuming watch reads at once.
const replayPage = 1000

// handleWatch streams events as server-sent events, in increasing seq
// order, until the client leaves (or falls too far behind: then the
// stream ends and the client resumes with after=), or its token is
// revoked or expires. With after (or the Last-Event-ID header an
// EventSource sends when it reconnects) the stream first replays the
// stored events after that seq.
func (s *Server) handleWatch(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		problemf(w, http.StatusInternalServerError, "streaming is not supported here")
		return
	}
	tenant, ok := scopeTenant(w, r, "watch", r.URL.Query().Get("tenant"))
	if !ok || !s.knownTenant(w, r, tenant) {
		return
	}
	after, ok := watchAfter(w, r)
	if !ok {
		return
	}
	// Subscribed before the replay reads the store: an event committed
	// after that read comes on ch. A resumed stream counts against its
	// holder's streams from here, through its replay.
	holder := watchHolder(principalOf(r))
	ch, err := s.watch.subscribe(tenant, holder, s.cfg.MaxWatches)
	switch {
	case errors.Is(err, errTooManyWatch):
		tooManyStreams(w, "watch streams", holder, s.cfg.MaxWatches)
		return
	case errors.Is(err, errResync):
		w.Header().Set("Retry-After", "1")
		problemf(w, http.StatusServiceUnavailable, "%v", err)
		return
	case err != nil:
		problemf(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	defer s.watch.unsubscribe(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": watching\n\n")
	fl.Flush()
	if after >= 0 {
		if s.beforeReplay != nil {
			s.beforeReplay()
		}
		if after, ok = s.replay(w, fl, r, tenant, after); !ok {
			return
		}
	}
	tick := time.NewTicker(s.streamCheck)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if !s.stillHolds(r) {
				return
			}
			fmt.Fprint(w, ": keep-alive\n\n")
		case ev, ok := <-ch:
			if !ok || !s.stillHolds(r) {
				return
			}
			if ev.Seq <= after {
				continue // replayed already
			}
			writeEvent(w, ev)
		}
		fl.Flush()
	}
}

// watchHolder is whose count of watch streams a principal's counts
// against: its tenant's (a tenant-admin mints as many tokens as it
// likes), else its own.
func watchHolder(p auth.Principal) string {
	if p.Tenant != "" {
		return "tenant " + p.Tenant
	}
	return p.Subject
}

// watchAfter is the seq a watch resumes after: the later of the query's
// after and the Last-Event-ID header; -1 for neither. An EventSource
// opened on ?after=N reconnects to that same URL with the Last-Event-ID
// it saw: the stream goes on from there, not from N again.
func watchAfter(w http.ResponseWriter, r *http.Request) (int64, bool) {
	after, ok := queryInt(w, r, "after", -1, 0, 1<<62)
	if !ok {
		return after, ok
	}
	h, twice := oneHeader(r, "Last-Event-ID")
	if twice != "" {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid header",
			Errors: []api.FieldError{{Field: "Last-Event-ID", Message: twice}}})
		return 0, false
	}
	if h == "" {
		return after, true
	}
	v, err := strconv.ParseInt(h, 10, 64)
	if err != nil || v < 0 || v > 1<<62 {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid header",
			Errors: []api.FieldError{{Field: "Last-Event-ID", Message: fmt.Sprintf("must be an event's seq, an integer from 0 to %d, not %q", int64(1<<62), h)}}})
		return 0, false
	}
	return max(after, v), true
}

// replay writes the stored events of tenant (every event for "") after
// seq after and returns the last seq it read, or false when the stream
// must end (the store failed, the token no longer holds): the client
// resumes from what it got. The store keeps tenant's events only, as for
// a page of /v1/events; an event of another tenant that came all the
// same is not written.
func (s *Server) replay(w io.Writer, fl http.Flusher, r *http.Request, tenant string, after int64) (int64, bool) {
	for {
		evs, err := s.store.Events(r.Context(), store.EventFilter{Tenant: tenant, After: after, Limit: replayPage})
		if err != nil {
			s.log.Warn("replaying events to a watcher", "after", after, "err", err)
			return after, false
		}
		// Checked after the read, not before: a token revoked while the
		// page was read, or between the stream's start and its replay,
		// gets none of it (the page may hold events committed after the
		// revocation).
		if !s.stillHolds(r) {
			return after, false
		}
		for _, ev := range evs {
			after = ev.Seq
			if tenant == "" || ev.Tenant == tenant {
				writeEvent(w, ev)
			}
		}
		fl.Flush()
		if len(evs) < replayPage {
			return after, true
		}
	}
}

// writeEvent writes ev as a server-sent event whose id is its seq.
func writeEvent(w io.Writer, ev api.Event) {
	b, _ := json.Marshal(ev)
	if ev.Seq > 0 {
		fmt.Fprintf(w, "id: %d\n", ev.Seq)
	}
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b)
}
