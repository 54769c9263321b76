// Package store is the durable state of the live control plane: jobs,
// their events and the registered nodes. The Store interface is sized to
// what the server uses; store/sqlite implements it on an embedded SQLite
// database, store/postgres on a PostgreSQL one, and store/storetest is
// the conformance suite every backend passes. What the two backends do
// alike lives once: store/rows (the rows, their encoding, the readers of
// query results, the filtered queries), store/schema (the migrations)
// and store/group (the group-commit loop).
//
// A Store call returns only once its change is durable (committed and
// synced), so the API acknowledges nothing it could lose. Backends group
// concurrent commits so that many submissions share one sync.
package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// ErrNotFound is returned for a job or node that does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned by CreateJob for a job ID already used.
var ErrExists = errors.New("already exists")

// ErrNUL is returned for a write holding the NUL character in a string:
// PostgreSQL cannot store it in text or JSONB, and every store refuses it
// alike. The server keeps it out at the API (a request naming the field
// is refused, an agent's report escaped).
var ErrNUL = errors.New(`holds the NUL character (\u0000), which the store cannot keep`)

// ErrBadCursor is returned by Jobs for an After that is not a cursor the
// store returned.
var ErrBadCursor = errors.New("malformed page cursor")

// Store is the control plane's durable state.
type Store interface {
	// CreateJob records a new job and its first event in one
	// transaction. With a non-empty idempotency key, a key recorded
	// before (for the same tenant) records nothing and returns the ID of
	// the job that key created, with created false. A job ID already
	// used gives ErrExists. ev must not be nil; once a job is created,
	// ev.Seq holds the sequence number the store gave the event.
	CreateJob(ctx context.Context, j *api.Job, key string, ev *api.Event) (id string, created bool, err error)
	// KeyedJob returns the ID of the job CreateJob created with the
	// idempotency key of tenant, or ErrNotFound.
	KeyedJob(ctx context.Context, tenant, key string) (string, error)
	// Update replaces the given jobs (which must exist), creates or
	// replaces the nodes and appends the events, in one transaction. The
	// store assigns the events' Seq.
	Update(ctx context.Context, jobs []*api.Job, events []api.Event, nodes ...*api.Node) error
	// Job returns one job, or ErrNotFound.
	Job(ctx context.Context, id string) (*api.Job, error)
	// Jobs returns one page of jobs matching f, in submission order, and
	// the cursor of the next page ("" on the last page).
	Jobs(ctx context.Context, f JobFilter) ([]*api.Job, string, error)
	// Active returns every job not in a final state, in submission order:
	// what a server restarting reloads.
	Active(ctx context.Context) ([]*api.Job, error)
	// JobStates returns the state (with the tenant and kind) of each
	// job of ids that the store holds, by ID, in one read; an ID it does
	// not hold is left out: what a server needs of the dependencies no
	// longer in memory of a job submitted, and of the pending jobs it
	// reloads.
	JobStates(ctx context.Context, ids []string) (map[string]JobState, error)
	// Events returns events in Seq order after f.After, of one job when
	// f.Job is set.
	Events(ctx context.Context, f EventFilter) ([]api.Event, error)
	// Usage sums the usage of every job by tenant, tenants sorted by
	// name.
	Usage(ctx context.Context) ([]api.TenantUsage, error)
	// FairShare returns the tenants' fair-share usage history as last
	// saved, sorted by tenant.
	FairShare(ctx context.Context) ([]model.Usage, error)
	// SaveFairShare replaces the saved fair-share history by u.
	SaveFairShare(ctx context.Context, u []model.Usage) error
	// PutNode creates or replaces a node.
	PutNode(ctx context.Context, n *api.Node) error
	// ForgetNodes deletes the nodes named (a node absent is no error) and
	// appends the events, in one transaction: a node the facility no
	// longer has. The store assigns the events' Seq.
	ForgetNodes(ctx context.Context, names []string, events []api.Event) error
	// Nodes returns every node, sorted by name.
	Nodes(ctx context.Context) ([]*api.Node, error)
	// PutRecords creates or replaces records (a nil Doc deletes one; a
	// record absent is no error) and appends the events, in one
	// transaction. The store assigns the events' Seq.
	PutRecords(ctx context.Context, recs []Record, events []api.Event) error
	// Record returns the document of one record, or ErrNotFound.
	Record(ctx context.Context, kind, key string) ([]byte, error)
	// Records returns every record of a kind, sorted by key (bytewise).
	Records(ctx context.Context, kind string) ([]Record, error)
	// Close waits for commits in flight and closes the store.
	Close() error
}

// JobState is a job's state, as JobStates returns it.
type JobState struct {
	Tenant string
	Kind   string // job | deployment
	State  string
	// EndTime is when the job ended, in UTC; nil while it has not.
	EndTime *time.Time
}

// Record is one of the control plane's own records: an API or join
// token (as a keyed hash), an enrolled node, a sealed tenant secret, a
// setting. The server owns the encoding of Doc.
type Record struct {
	Kind string
	Key  string
	Doc  []byte
}

// ValidRecord reports what is wrong with r's kind or key, or nil.
func ValidRecord(r Record) error {
	if r.Kind == "" || r.Key == "" {
		return errors.New("record: empty kind or key")
	}
	if len(r.Kind) > 64 || len(r.Key) > 512 {
		return errors.New("record: kind or key too long")
	}
	if strings.IndexByte(r.Kind, 0) >= 0 || strings.IndexByte(r.Key, 0) >= 0 {
		return fmt.Errorf("record: kind or key %w", ErrNUL)
	}
	return nil
}

// ValidNodeNames refuses an empty node name, and one holding NUL (which
// neither store keeps as written).
func ValidNodeNames(names []string) error {
	for _, name := range names {
		if name == "" {
			return errors.New("a node name is empty")
		}
		if strings.IndexByte(name, 0) >= 0 {
			return fmt.Errorf("node name %q %w", name, ErrNUL)
		}
	}
	return nil
}

// ValidFairShare refuses a fair-share history SaveFairShare cannot save:
// a usage without a tenant, or whose GPU-seconds are not a finite,
// non-negative figure.
func ValidFairShare(us []model.Usage) error {
	for _, u := range us {
		if u.Tenant == "" || math.IsNaN(u.GPUSeconds) || math.IsInf(u.GPUSeconds, 0) || u.GPUSeconds < 0 {
			return fmt.Errorf("tenant %q: GPU-seconds %v: need a tenant and a finite, non-negative figure", u.Tenant, u.GPUSeconds)
		}
	}
	return nil
}

// JobFilter selects jobs. Empty fields match everything.
type JobFilter struct {
	Tenant        string
	States        []string // any of
	PriorityClass string
	Kind          string
	// After is the cursor returned with the previous page.
	After string
	// Limit is the page size; 0 means 100, and at most 1000 are returned.
	Limit int
}

// EventFilter selects events.
type EventFilter struct {
	Job string
	// Tenant keeps the events of one tenant; "" keeps every event
	// (those of no tenant included).
	Tenant string
	After  int64 // Seq
	// Limit is at most this many events; 0 means 1000.
	Limit int
}

// PageSize returns the effective page size of a limit.
func PageSize(limit int) int {
	switch {
	case limit <= 0:
		return 100
	case limit > 1000:
		return 1000
	}
	return limit
}
