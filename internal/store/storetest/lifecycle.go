package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// snapshot is everything a store holds, as its reads return it.
type snapshot struct {
	Jobs   []*api.Job
	Active []*api.Job
	Events []api.Event
	Usage  []api.TenantUsage
	Nodes  []*api.Node
}

// take reads everything s holds.
func take(t *testing.T, s store.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	var sn snapshot
	var err error
	sn.Jobs = allJobs(t, s, store.JobFilter{})
	sn.Events = allEvents(t, s)
	if sn.Active, err = s.Active(ctx); err != nil {
		t.Fatalf("Active: %v", err)
	}
	if sn.Usage, err = s.Usage(ctx); err != nil {
		t.Fatalf("Usage: %v", err)
	}
	if sn.Nodes, err = s.Nodes(ctx); err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	return sn
}

func testDurability(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	open := newDB(t)
	s := openStore(t, open)
	jobs := mixedJobs(t, s, 20)
	keyed := newJob("keyed", "acme", 30)
	if _, _, err := s.CreateJob(ctx, keyed, "the-key", submitted(keyed)); err != nil {
		t.Fatalf("CreateJob(keyed): %v", err)
	}
	jobs[0].State, jobs[0].Usage.GPUSeconds = api.StateRunning, 42
	ev := api.Event{Time: at(time.Minute), Job: jobs[0].ID, Tenant: jobs[0].Tenant, Type: api.EventStarted, Message: "started"}
	if err := s.Update(ctx, []*api.Job{jobs[0]}, []api.Event{ev}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	for _, n := range []*api.Node{fullNode("n1"), fullNode("n2")} {
		if err := s.PutNode(ctx, n); err != nil {
			t.Fatalf("PutNode: %v", err)
		}
	}
	before := take(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openStore(t, open)
	if diff := cmp.Diff(before, take(t, s)); diff != "" {
		t.Fatalf("after reopening (-before +after):\n%s", diff)
	}
	// Keys, sequence numbers and submission order carry on.
	retry := newJob("retry", "acme", 40)
	if id, created, err := s.CreateJob(ctx, retry, "the-key", submitted(retry)); err != nil || created || id != "keyed" {
		t.Errorf("CreateJob(the-key) after reopening = %q, %v, %v; want keyed, false, nil", id, created, err)
	}
	later := newJob("later", "acme", 50)
	create(t, s, later)
	after := take(t, s)
	if got := after.Jobs[len(after.Jobs)-1].ID; got != "later" || len(after.Jobs) != len(before.Jobs)+1 {
		t.Errorf("jobs after reopening end with %s (%d jobs), want later (%d)", got, len(after.Jobs), len(before.Jobs)+1)
	}
	checkSeqs(t, after.Events)
}

// testCloseDrains closes the store under a stream of writes: every write
// acknowledged before is found after reopening.
func testCloseDrains(t *testing.T, newDB NewDB) {
	open := newDB(t)
	s := openStore(t, open)
	const writers = 16
	var (
		mu    sync.Mutex
		acked []string
		count atomic.Int32
		wg    sync.WaitGroup
	)
	enough := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range 1000 {
				j := newJob(fmt.Sprintf("w%02d-%03d", w, i), tenants[w%len(tenants)], i)
				if _, _, err := s.CreateJob(context.Background(), j, "", submitted(j)); err != nil {
					return // closed
				}
				mu.Lock()
				acked = append(acked, j.ID)
				mu.Unlock()
				if count.Add(1) == 64 {
					close(enough)
				}
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-enough:
	case <-finished:
		t.Fatal("the writers stopped before 64 writes")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	<-finished

	s = openStore(t, open)
	stored := map[string]bool{}
	for _, j := range allJobs(t, s, store.JobFilter{}) {
		stored[j.ID] = true
	}
	for _, id := range acked {
		if !stored[id] {
			t.Errorf("job %s was acknowledged before Close but is lost", id)
		}
	}
	if len(stored) < len(acked) {
		t.Errorf("%d jobs stored, %d acknowledged", len(stored), len(acked))
	}
}

func testClosed(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	j := newJob("j", "acme", 0)
	create(t, s, j)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := map[string]func() error{
		"CreateJob": func() error {
			_, _, err := s.CreateJob(ctx, newJob("k", "acme", 1), "", submitted(j))
			return err
		},
		"Update":  func() error { return s.Update(ctx, []*api.Job{j}, nil) },
		"PutNode": func() error { return s.PutNode(ctx, fullNode("n1")) },
		"Job":     func() error { _, err := s.Job(ctx, "j"); return err },
		"Jobs":    func() error { _, _, err := s.Jobs(ctx, store.JobFilter{}); return err },
		"Active":  func() error { _, err := s.Active(ctx); return err },
		"Events":  func() error { _, err := s.Events(ctx, store.EventFilter{}); return err },
		"Usage":   func() error { _, err := s.Usage(ctx); return err },
		"Nodes":   func() error { _, err := s.Nodes(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s after Close succeeded, want an error", name)
		}
	}
}

// testConcurrentWriters runs writers and readers at once; each writer
// drives its own jobs through their life and its own node.
func testConcurrentWriters(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	const writers, perWriter = 16, 8
	var wg, readers sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := readEverything(ctx, s); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			if err := lifecycle(ctx, s, w, perWriter); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	sn := take(t, s)
	if len(sn.Jobs) != writers*perWriter || len(sn.Active) != 0 || len(sn.Events) != 3*writers*perWriter {
		t.Errorf("%d jobs, %d active, %d events; want %d, 0, %d",
			len(sn.Jobs), len(sn.Active), len(sn.Events), writers*perWriter, 3*writers*perWriter)
	}
	types := map[string][]string{}
	for _, ev := range sn.Events {
		types[ev.Job] = append(types[ev.Job], ev.Type)
	}
	for _, j := range sn.Jobs {
		want := []string{api.EventSubmitted, api.EventStarted, api.EventFinished}
		if j.State != api.StateSucceeded || !cmp.Equal(types[j.ID], want) {
			t.Errorf("job %s: state %s, events %v; want succeeded, %v", j.ID, j.State, types[j.ID], want)
		}
	}
	if len(sn.Nodes) != writers {
		t.Errorf("%d nodes, want %d", len(sn.Nodes), writers)
	}
	for _, n := range sn.Nodes {
		if n.GPUsUsed != perWriter-1 {
			t.Errorf("node %s: GPUsUsed %d, want the last write's %d", n.Name, n.GPUsUsed, perWriter-1)
		}
	}
	var total int
	for _, u := range sn.Usage {
		total += u.Jobs
		if u.GPUSeconds != float64(u.Jobs) {
			t.Errorf("tenant %s: %v GPU seconds for %d jobs, want one each", u.Tenant, u.GPUSeconds, u.Jobs)
		}
	}
	if total != writers*perWriter {
		t.Errorf("usage counts %d jobs, want %d", total, writers*perWriter)
	}
}

// readEverything calls each read once.
func readEverything(ctx context.Context, s store.Store) error {
	if _, _, err := s.Jobs(ctx, store.JobFilter{States: []string{api.StateRunning}}); err != nil {
		return err
	}
	if _, err := s.Active(ctx); err != nil {
		return err
	}
	if _, err := s.Events(ctx, store.EventFilter{}); err != nil {
		return err
	}
	if _, err := s.Usage(ctx); err != nil {
		return err
	}
	_, err := s.Nodes(ctx)
	return err
}

// lifecycle submits, starts and finishes n jobs of writer w, and puts
// its node after each.
func lifecycle(ctx context.Context, s store.Store, w, n int) error {
	for i := range n {
		j := newJob(fmt.Sprintf("w%02d-%d", w, i), tenants[w%len(tenants)], i)
		if _, _, err := s.CreateJob(ctx, j, j.ID, submitted(j)); err != nil {
			return err
		}
		j.State = api.StateRunning
		started := api.Event{Time: at(time.Minute), Job: j.ID, Tenant: j.Tenant, Type: api.EventStarted, Message: "started"}
		if err := s.Update(ctx, []*api.Job{j}, []api.Event{started}); err != nil {
			return err
		}
		j.State, j.Usage.GPUSeconds = api.StateSucceeded, 1
		done := api.Event{Time: at(time.Hour), Job: j.ID, Tenant: j.Tenant, Type: api.EventFinished, Message: "succeeded"}
		if err := s.Update(ctx, []*api.Job{j}, []api.Event{done}); err != nil {
			return err
		}
		if err := s.PutNode(ctx, &api.Node{Name: fmt.Sprintf("n%02d", w), GPUsUsed: i}); err != nil {
			return err
		}
	}
	return nil
}
