// Package storetest is the conformance suite of store.Store. Every backend
// runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Open {
//			path := filepath.Join(t.TempDir(), "carnot.db")
//			return func(t *testing.T) store.Store { … open path … }
//		})
//	}
//
// The suite gives each test an empty database of its own, so backends
// that keep state outside the process (a PostgreSQL schema per test) fit
// as well as those that keep a file. Run the backend's package with
// -race: several tests write from many goroutines.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// NewDB creates an empty database for the test t, to be removed when t
// ends (t.Cleanup), and returns the function that opens it. The suite's
// tests run in parallel, so NewDB is called from many goroutines.
type NewDB func(t *testing.T) Open

// Open opens the store on the database NewDB created. The suite calls it
// once per test, and again after closing the store to check that what the
// store acknowledged survived; it closes every store it opens.
type Open func(t *testing.T) store.Store

// Run runs the conformance suite against the backend newDB makes
// databases for.
func Run(t *testing.T, newDB NewDB) {
	tests := []struct {
		name string
		run  func(t *testing.T, newDB NewDB)
	}{
		{"RoundTrip", testRoundTrip},
		{"CreateRecordsEvent", testCreateRecordsEvent},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"DuplicateID", testDuplicateID},
		{"DuplicateIDConcurrent", testDuplicateIDConcurrent},
		{"NotFound", testNotFound},
		{"UnstorableLookups", testUnstorableLookups},
		{"NULWrites", testNULWrites},
		{"Update", testUpdate},
		{"UpdateMissing", testUpdateMissing},
		{"UpdateEventsOnly", testUpdateEventsOnly},
		{"LastCheckpoint", testLastCheckpoint},
		{"CancelledContext", testCancelledContext},
		{"Pagination", testPagination},
		{"PagesWhileJobsChange", testPagesWhileJobsChange},
		{"MalformedCursor", testMalformedCursor},
		{"Active", testActive},
		{"JobStates", testJobStates},
		{"Events", testEvents},
		{"EventsDefaultLimit", testEventsDefaultLimit},
		{"Usage", testUsage},
		{"Nodes", testNodes},
		{"FairShare", testFairShare},
		{"Records", testRecords},
		{"UpdateNodes", testUpdateNodes},
		{"ForgetNodes", testForgetNodes},
		{"Durability", testDurability},
		{"CloseDrains", testCloseDrains},
		{"Closed", testClosed},
		{"ConcurrentWriters", testConcurrentWriters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newDB)
		})
	}
}

// fresh opens a store on a new, empty database; the store is closed when
// t ends.
func fresh(t *testing.T, newDB NewDB) store.Store {
	t.Helper()
	return openStore(t, newDB(t))
}

// openStore opens a store with open and closes it when t ends, unless
// the test closed it before.
func openStore(t *testing.T, open Open) store.Store {
	t.Helper()
	s := &closeOnce{Store: open(t)}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// closeOnce is a store whose Close closes it the first time only.
type closeOnce struct {
	store.Store
	once sync.Once
	err  error
}

func (s *closeOnce) Close() error {
	s.once.Do(func() { s.err = s.Store.Close() })
	return s.err
}

// base is the time the suite's jobs are submitted around: nanoseconds
// and a zone other than UTC, to check that times round-trip.
var base = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.FixedZone("CET", 3600))

// at is base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// newJob is a pending job of tenant submitted i seconds after base, with
// a small spec; opts change it.
func newJob(id, tenant string, i int, opts ...func(*api.Job)) *api.Job {
	j := &api.Job{
		ID:            id,
		Kind:          "job",
		Tenant:        tenant,
		PriorityClass: "standard",
		State:         api.StatePending,
		Spec:          json.RawMessage(fmt.Sprintf(`{"name": %q, "replicas": 1}`, id)),
		SubmitTime:    at(time.Duration(i) * time.Second),
	}
	for _, o := range opts {
		o(j)
	}
	return j
}

// submitted is the event CreateJob records with j.
func submitted(j *api.Job) *api.Event {
	return &api.Event{Time: j.SubmitTime, Job: j.ID, Tenant: j.Tenant, Type: api.EventSubmitted, Message: "submitted " + j.ID}
}

// create creates j without an idempotency key and fails the test unless
// the store creates it.
func create(t *testing.T, s store.Store, j *api.Job) {
	t.Helper()
	id, created, err := s.CreateJob(context.Background(), j, "", submitted(j))
	if err != nil || !created || id != j.ID {
		t.Fatalf("CreateJob(%s) = %q, %v, %v; want %[1]q, true, nil", j.ID, id, created, err)
	}
}

// clone returns a deep copy of j, through its JSON form.
func clone(t *testing.T, j *api.Job) *api.Job {
	t.Helper()
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	c := &api.Job{}
	if err := json.Unmarshal(b, c); err != nil {
		t.Fatal(err)
	}
	c.Spec = append(json.RawMessage(nil), j.Spec...)
	return c
}

// allEvents returns every event of s.
func allEvents(t *testing.T, s store.Store) []api.Event {
	t.Helper()
	var all []api.Event
	var after int64
	for {
		evs, err := s.Events(context.Background(), store.EventFilter{After: after})
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		if len(evs) == 0 {
			return all
		}
		all = append(all, evs...)
		after = evs[len(evs)-1].Seq
	}
}

// allJobs returns every job of s matching f, paging through Jobs.
func allJobs(t *testing.T, s store.Store, f store.JobFilter) []*api.Job {
	t.Helper()
	var all []*api.Job
	for {
		page, next, err := s.Jobs(context.Background(), f)
		if err != nil {
			t.Fatalf("Jobs(%+v): %v", f, err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		f.After = next
	}
}

// ids returns the IDs of jobs.
func ids(jobs []*api.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}
