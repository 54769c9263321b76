package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/carnot-dc/carnot/internal/store"
)

// testNULLookups: a key or filter holding the NUL character (which
// PostgreSQL refuses in text) names nothing: reads answer as for any
// other key that is not there, not with an error.
func testNULLookups(t *testing.T, newDB NewDB) {
	s := fresh(t, newDB)
	ctx := context.Background()
	create(t, s, newJob("here", "acme", 0))
	if j, err := s.Job(ctx, "here\x00"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(here\\x00) = %+v, %v; want ErrNotFound", j, err)
	}
	if b, err := s.Record(ctx, "secret", "acme/\x00"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Record(secret, acme/\\x00) = %q, %v; want ErrNotFound", b, err)
	}
	if recs, err := s.Records(ctx, "se\x00cret"); err != nil || len(recs) != 0 {
		t.Errorf("Records(se\\x00cret) = %v, %v; want none", recs, err)
	}
	for _, f := range []store.JobFilter{{Tenant: "acme\x00"}, {States: []string{"pending\x00"}}, {PriorityClass: "\x00"}, {Kind: "job\x00"}} {
		if jobs, next, err := s.Jobs(ctx, f); err != nil || len(jobs) != 0 || next != "" {
			t.Errorf("Jobs(%+v) = %d jobs, %q, %v; want none", f, len(jobs), next, err)
		}
	}
	for _, f := range []store.EventFilter{{Job: "here\x00"}, {Tenant: "acme\x00"}} {
		if evs, err := s.Events(ctx, f); err != nil || len(evs) != 0 {
			t.Errorf("Events(%+v) = %v, %v; want none", f, evs, err)
		}
	}
}
