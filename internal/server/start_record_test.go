package server

import (
	"context"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/store"
)

// The record of the facility events of the last start, unreadable, is
// taken for none as the other records a start compares itself with are:
// the server starts (it used not to).
func TestUnreadableFacilityEventsRecordIsRecordedAfresh(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	fac := DevFacility("local", "FR")
	e := openEnv(t, dir, fac, true, clk)
	if err := e.s.store.PutRecords(context.Background(), []store.Record{{Kind: recFlags, Key: flagsKey, Doc: []byte(`["not a map"]`)}}, nil); err != nil {
		t.Fatal(err)
	}
	e.s.store.Close()
	e = openEnv(t, dir, fac, true, clk)
	if code := e.do("GET", "/v1/events", nil, nil); code != 200 {
		t.Fatalf("events after the restart: %d", code)
	}
}
