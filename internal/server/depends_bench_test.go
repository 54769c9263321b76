package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// BenchmarkReloadDependencies is a server's start (New: the reload and
// all) on a store holding 1,000 pending jobs, each depending on one of
// 1,000 jobs that succeeded: the dependencies are not reloaded, and are
// read from the store (trackLoadedDeps). On SQLite, and on PostgreSQL
// when $CARNOT_TEST_POSTGRES is set.
func BenchmarkReloadDependencies(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, err := sqlite.Open(filepath.Join(b.TempDir(), "carnot.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		benchReloadDeps(b, db)
	})
	b.Run("postgres", func(b *testing.B) {
		db := benchPostgres(b)
		b.Cleanup(func() { db.Close() })
		benchReloadDeps(b, db)
	})
}

func benchReloadDeps(b *testing.B, db store.Store) {
	const n = 1000
	ctx := context.Background()
	cfg := Config{Facility: DevFacility("local", "FR"), DynamicNodes: true, Store: db, TokenKey: testTokenKey}
	s, err := New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	submit := s.handlers("operator")["submitJob"]
	p := auth.Principal{Subject: "token:bench", Role: auth.Member, Tenant: "default"}
	post := func(body string) {
		r := httptest.NewRequest("POST", "/v1/jobs", bytes.NewReader([]byte(body)))
		w := httptest.NewRecorder()
		submit(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		if w.Code != 201 {
			b.Errorf("submit %s: %d %s", body, w.Code, w.Body)
		}
	}
	// 16 submitters at once: the store groups their commits.
	each := func(f func(i int)) {
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Go(func() {
				for i := w; i < n; i += 16 {
					f(i)
				}
			})
		}
		wg.Wait()
	}
	each(func(i int) { post(fmt.Sprintf(`{"id":"a%d","gpus":0,"cpus":1,"command":["true"]}`, i)) })
	each(func(i int) {
		post(fmt.Sprintf(`{"id":"b%d","gpus":0,"cpus":1,"command":["true"],"depends_on":["a%d"]}`, i, i))
	})
	if b.Failed() {
		b.FailNow()
	}
	end := time.Now().UTC()
	var done []*api.Job
	for i := range n {
		j, err := db.Job(ctx, fmt.Sprintf("a%d", i))
		if err != nil {
			b.Fatal(err)
		}
		j.State, j.EndTime = api.StateSucceeded, &end
		done = append(done, j)
	}
	if err := db.Update(ctx, done, nil); err != nil {
		b.Fatal(err)
	}
	// the time New spends reading jobs by ID, the dependencies
	timed := &jobReadsTimed{Store: db}
	cfg.Store = timed
	b.ResetTimer()
	for b.Loop() {
		s, err := New(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		held := 0
		for _, js := range s.jobs {
			if js.held {
				held++
			}
		}
		if len(s.jobs) != n || held != 0 {
			b.Fatalf("%d jobs reloaded, %d held; want %d, none held", len(s.jobs), held, n)
		}
	}
	b.ReportMetric(float64(timed.spent.Milliseconds())/float64(b.N), "dep-read-ms/op")
}

// jobReadsTimed adds up the time spent reading jobs by ID.
type jobReadsTimed struct {
	store.Store
	spent time.Duration
}

func (c *jobReadsTimed) Job(ctx context.Context, id string) (*api.Job, error) {
	t0 := time.Now()
	defer func() { c.spent += time.Since(t0) }()
	return c.Store.Job(ctx, id)
}

func (c *jobReadsTimed) JobStates(ctx context.Context, ids []string) (map[string]store.JobState, error) {
	t0 := time.Now()
	defer func() { c.spent += time.Since(t0) }()
	return c.Store.JobStates(ctx, ids)
}
