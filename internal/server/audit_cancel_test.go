package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// countedEvents is a store that counts its reads of the events table
// (the reads an audit export or page makes of its entries) and, once
// armed, calls onRead after each read that returned events.
type countedEvents struct {
	store.Store
	mu     sync.Mutex
	reads  int
	onRead func()
}

func (c *countedEvents) Events(ctx context.Context, f store.EventFilter) ([]api.Event, error) {
	c.mu.Lock()
	c.reads++
	hook := c.onRead
	c.mu.Unlock()
	evs, err := c.Store.Events(ctx, f)
	if hook != nil && len(evs) > 0 {
		hook()
	}
	return evs, err
}

func (c *countedEvents) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// goneClient is the response to a client that goes away at the first
// bytes it is sent: net/http then cancels the request's context, as
// cancel does here. Its writes never fail (a connection's may not, for
// as long as its buffers take them).
type goneClient struct {
	*httptest.ResponseRecorder
	cancel    func()
	readsThen int // the store's reads when the client went
	db        *countedEvents
	gone      bool
}

func (g *goneClient) Write(p []byte) (int, error) {
	if !g.gone {
		g.gone, g.readsThen = true, g.db.count()
		g.cancel()
	}
	return g.ResponseRecorder.Write(p)
}

// serveAborted serves req, taking the abort of a response cut short
// (http.ErrAbortHandler) as net/http does.
func serveAborted(t *testing.T, h http.Handler, w http.ResponseWriter, req *http.Request) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil && !errors.Is(asError(v), http.ErrAbortHandler) {
			panic(v)
		}
	}()
	h.ServeHTTP(w, req)
}

func asError(v any) error {
	err, _ := v.(error)
	return err
}

// cancelServer is a server on a counted store of kind with n more
// events: every spread-th of tenant default, the rest of no tenant.
func cancelServer(t *testing.T, kind func(*testing.T) storeOf, n, spread int) (*env, *countedEvents) {
	t.Helper()
	st := kind(t)
	db := &countedEvents{Store: st.open()}
	signer, _ := auditKeys(t)
	e := auditServer(t, db, DevFacility("local", "FR"), signer, &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)})
	st.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + strconv.Itoa(n) + `)
		INSERT INTO events (time, job, tenant, node, type, message, actor)
		SELECT (SELECT time FROM events ORDER BY seq LIMIT 1), '',
			CASE WHEN i % ` + strconv.Itoa(spread) + ` = 0 THEN 'default' ELSE '' END, '', 'policy', 'filler ' || i, 'test' FROM n`)
	if code, body := e.get("/v1/audit/checkpoint"); code != 200 { // the rows become entries
		t.Fatalf("checkpoint: %d %s", code, body)
	}
	return e, db
}

// An export whose client goes away stops reading the log back from the
// events table: net/http cancels the request's context, and the reads
// take it. Before, the export read the whole log to its end (5 reads of
// 1,024 entries here) for no one, as long as its writes did not fail.
func TestAuditExportStopsReadingWhenTheClientGoes(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			e, db := cancelServer(t, kind.make, 5000, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &goneClient{ResponseRecorder: httptest.NewRecorder(), cancel: cancel, db: db}
			before := db.count()
			serveAborted(t, e.h, w, httptest.NewRequest("GET", "/v1/audit/export", nil).WithContext(ctx))
			if !w.gone {
				t.Fatalf("the export sent nothing: %d %s", w.Code, w.Body)
			}
			if w.readsThen == before {
				t.Fatal("the export sent bytes before it read an entry")
			}
			if after := db.count() - w.readsThen; after > 0 {
				t.Errorf("the export read the events table %d more times after its client went away (%d before)", after, w.readsThen-before)
			}
		})
	}
}

// A page of a tenant's entries far apart, each read on its own, stops
// reading when its client goes away. Before, it read every one of them
// (50 here) for no one.
func TestAuditPageStopsReadingWhenTheClientGoes(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			e, db := cancelServer(t, kind.make, 50*(entryGap+4), entryGap+4)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var readsThen int
			db.mu.Lock()
			db.onRead = func() {
				if ctx.Err() == nil {
					readsThen = db.count()
					cancel()
				}
			}
			db.mu.Unlock()
			w := httptest.NewRecorder()
			serveAborted(t, e.h, w, httptest.NewRequest("GET", "/v1/audit/entries?tenant=default", nil).WithContext(ctx))
			if readsThen == 0 {
				t.Fatalf("the page read no entry: %d %s", w.Code, w.Body)
			}
			if after := db.count() - readsThen; after > 0 {
				t.Errorf("the page read the events table %d more times after its client went away", after)
			}
		})
	}
}
