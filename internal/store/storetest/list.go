package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

var (
	tenants = []string{"acme", "beta", "corp"}
	classes = []string{"low", "standard", "high", "critical"}
	states  = []string{api.StatePending, api.StateRunning, api.StatePreempting, api.StateCancelling,
		api.StateSucceeded, api.StateFailed, api.StateCancelled}
)

// mixedJobs creates n jobs that cycle through the tenants, classes,
// states and kinds, and returns them in submission order.
func mixedJobs(t *testing.T, s store.Store, n int) []*api.Job {
	t.Helper()
	jobs := make([]*api.Job, n)
	for i := range n {
		jobs[i] = newJob(fmt.Sprintf("job-%03d", i), tenants[i%len(tenants)], i, func(j *api.Job) {
			j.PriorityClass = classes[i%len(classes)]
			j.State = states[i%len(states)]
			if i%5 == 0 {
				j.Kind = "deployment"
			}
			j.Usage = api.Usage{GPUSeconds: float64(i), ITKWh: float64(i) / 4, KWh: float64(i) / 2,
				EUR: float64(i) / 8, GCO2e: float64(3 * i), UnpricedKWh: float64(i%3) / 16}
		})
		create(t, s, jobs[i])
	}
	return jobs
}

// match is the oracle of JobFilter: whether j matches f.
func match(f store.JobFilter, j *api.Job) bool {
	return (f.Tenant == "" || f.Tenant == j.Tenant) &&
		(f.PriorityClass == "" || f.PriorityClass == j.PriorityClass) &&
		(f.Kind == "" || f.Kind == j.Kind) &&
		(len(f.States) == 0 || slices.Contains(f.States, j.State))
}

func testPagination(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	jobs := mixedJobs(t, s, 250)
	filters := []store.JobFilter{
		{},
		{Tenant: "beta"},
		{States: []string{api.StateRunning}},
		{States: []string{api.StatePending, api.StateFailed, api.StateCancelled}},
		{PriorityClass: "critical"},
		{Kind: "deployment"},
		{Tenant: "acme", States: []string{api.StatePending, api.StateRunning}, Kind: "job"},
		{Tenant: "corp", PriorityClass: "low", Kind: "deployment"},
		{Tenant: "nobody"},
	}
	for _, f := range filters {
		var want []*api.Job
		for _, j := range jobs {
			if match(f, j) {
				want = append(want, j)
			}
		}
		for _, limit := range []int{0, 1, 7, 100, 250, 5000} {
			if limit == 1 && len(want) > 50 {
				continue // one job a page: keep the test short
			}
			f.Limit = limit
			size := store.PageSize(limit)
			var got []*api.Job
			after := ""
			for page := 0; ; page++ {
				f.After = after
				jobs, next, err := s.Jobs(ctx, f)
				if err != nil {
					t.Fatalf("Jobs(%+v): %v", f, err)
				}
				if len(jobs) > size || (next != "" && len(jobs) != size) {
					t.Fatalf("Jobs(%+v) = %d jobs and next %q; pages hold %d", f, len(jobs), next, size)
				}
				got = append(got, jobs...)
				if next == "" {
					break
				}
				if page > len(want) {
					t.Fatalf("Jobs(%+v): more pages than jobs", f)
				}
				after = next
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("jobs of %+v (-want +got):\n%s", f, diff)
			}
		}
	}
}

func testMalformedCursor(t *testing.T, newDB NewDB) {
	s := fresh(t, newDB)
	mixedJobs(t, s, 3)
	for _, after := range []string{"not a cursor!", "-", "%%"} {
		jobs, next, err := s.Jobs(context.Background(), store.JobFilter{After: after})
		if err == nil {
			t.Errorf("Jobs(after %q) = %d jobs, next %q, nil error; want an error", after, len(jobs), next)
		}
	}
}

func testActive(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	jobs := mixedJobs(t, s, 42)
	// Finish a few active jobs and bring a final one back (a store does
	// not judge transitions).
	var changed []*api.Job
	for _, i := range []int{0, 1, 9, 4} {
		if api.Final(jobs[i].State) {
			jobs[i].State = api.StatePending
		} else {
			jobs[i].State = api.StateSucceeded
		}
		changed = append(changed, jobs[i])
	}
	if err := s.Update(ctx, changed, nil); err != nil {
		t.Fatalf("Update: %v", err)
	}
	var want []*api.Job
	for _, j := range jobs {
		if !api.Final(j.State) {
			want = append(want, j)
		}
	}
	got, err := s.Active(ctx)
	if err != nil {
		t.Fatalf("Active: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Active (-want +got):\n%s", diff)
	}
}

func testEvents(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	var want []api.Event
	for i := range 3 {
		j := newJob(fmt.Sprintf("j%d", i), "acme", i)
		create(t, s, j)
		want = append(want, *submitted(j))
	}
	var more []api.Event
	for i := range 20 {
		ev := api.Event{Time: at(time.Duration(i) * time.Minute), Type: api.EventReplica, Message: fmt.Sprint("event ", i)}
		switch {
		case i%4 == 3:
			ev.Node, ev.Type = "n1", api.EventNode
		case i%5 == 2:
			ev.Job, ev.Tenant = "z0", "zeta"
		default:
			ev.Job, ev.Tenant = fmt.Sprintf("j%d", i%3), "acme"
		}
		more = append(more, ev)
	}
	if err := s.Update(ctx, nil, more); err != nil {
		t.Fatalf("Update: %v", err)
	}
	want = append(want, more...)
	all := allEvents(t, s)
	ignoreSeq := cmpopts.IgnoreFields(api.Event{}, "Seq")
	if diff := cmp.Diff(want, all, ignoreSeq); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	checkSeqs(t, all)
	// The oracle: filter all.
	filter := func(f store.EventFilter) []api.Event {
		var out []api.Event
		for _, ev := range all {
			if ev.Seq > f.After && (f.Job == "" || ev.Job == f.Job) && (f.Tenant == "" || ev.Tenant == f.Tenant) &&
				(f.Limit == 0 || len(out) < f.Limit) {
				out = append(out, ev)
			}
		}
		return out
	}
	for _, f := range []store.EventFilter{
		{},
		{After: all[9].Seq},
		{After: all[len(all)-1].Seq},
		{Job: "j1"},
		{Job: "j2", After: all[10].Seq},
		{Job: "missing"},
		{Limit: 5},
		{Limit: 1, After: all[3].Seq},
		{Job: "j0", After: all[1].Seq, Limit: 3},
		{Tenant: "acme"},
		{Tenant: "zeta", After: all[5].Seq},
		{Tenant: "acme", After: all[3].Seq, Limit: 4},
		{Tenant: "acme", Job: "z0"},
		{Tenant: "missing"},
	} {
		got, err := s.Events(ctx, f)
		if err != nil {
			t.Fatalf("Events(%+v): %v", f, err)
		}
		if diff := cmp.Diff(filter(f), got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Events(%+v) (-want +got):\n%s", f, diff)
		}
	}
}

func testEventsDefaultLimit(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	evs := make([]api.Event, 1100)
	for i := range evs {
		evs[i] = api.Event{Time: at(time.Duration(i)), Node: "n1", Type: api.EventNode, Message: "tick"}
	}
	if err := s.Update(ctx, nil, evs); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err := s.Events(ctx, store.EventFilter{})
	if err != nil || len(got) != 1000 {
		t.Fatalf("Events(no limit) = %d events, %v; want 1000", len(got), err)
	}
	rest, err := s.Events(ctx, store.EventFilter{After: got[999].Seq, Limit: 1000})
	if err != nil || len(rest) != 100 {
		t.Fatalf("Events(after the first 1000) = %d events, %v; want 100", len(rest), err)
	}
}

func testUsage(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	jobs := mixedJobs(t, s, 30)
	// A tenant whose jobs used nothing still counts its jobs; tenants
	// sort by name whatever the submission order.
	create(t, s, newJob("zero", "aardvark", 99))
	jobs[4].Usage.Add(api.Usage{GPUSeconds: 1000, KWh: 2.5, UnpricedKWh: 0.75})
	if err := s.Update(ctx, []*api.Job{jobs[4]}, nil); err != nil {
		t.Fatalf("Update: %v", err)
	}
	byTenant := map[string]*api.TenantUsage{"aardvark": {Tenant: "aardvark", Jobs: 1}}
	for _, j := range jobs {
		u := byTenant[j.Tenant]
		if u == nil {
			u = &api.TenantUsage{Tenant: j.Tenant}
			byTenant[j.Tenant] = u
		}
		u.Jobs++
		u.Usage.Add(j.Usage)
	}
	var want []api.TenantUsage
	for _, name := range []string{"aardvark", "acme", "beta", "corp"} {
		want = append(want, *byTenant[name])
	}
	got, err := s.Usage(ctx)
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("Usage (-want +got):\n%s", diff)
	}
}

// testPagesWhileJobsChange: a reader paging through the jobs while jobs
// are submitted and others finish between its pages sees each job that
// was there when it started at most once and none skipped: those that
// still match the filter when their page is read, in submission order;
// jobs submitted meanwhile come last.
func testPagesWhileJobsChange(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	var jobs []*api.Job
	for i := range 20 {
		j := newJob(fmt.Sprintf("j%02d", i), "acme", i)
		create(t, s, j)
		jobs = append(jobs, j)
	}
	for _, f := range []store.JobFilter{{Limit: 3}, {Limit: 3, States: []string{api.StatePending}}} {
		t.Run(fmt.Sprint(f.States), func(t *testing.T) {
			seen := map[string]int{}
			var order []string
			for page, after := 0, ""; ; page++ {
				f.After = after
				got, next, err := s.Jobs(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range got {
					seen[j.ID]++
					order = append(order, j.ID)
				}
				if next == "" {
					break
				}
				after = next
				// Between pages: a job of a later page finishes, one of an
				// earlier page finishes, and a new job is submitted.
				for _, i := range []int{3*page + 4, 3 * page} {
					if i < len(jobs) && jobs[i].State == api.StatePending {
						c := clone(t, jobs[i])
						c.State = api.StateSucceeded
						if err := s.Update(ctx, []*api.Job{c}, nil); err != nil {
							t.Fatal(err)
						}
						jobs[i] = c
					}
				}
				n := newJob(fmt.Sprintf("new%s-%02d", f.States, page), "acme", 100+page)
				create(t, s, n)
				jobs = append(jobs, n)
			}
			if !slices.IsSorted(order) {
				t.Errorf("pages out of submission order: %v", order)
			}
			for id, n := range seen {
				if n > 1 {
					t.Errorf("job %s listed %d times", id, n)
				}
			}
			for _, j := range jobs {
				if (len(f.States) == 0 || j.State == api.StatePending) && seen[j.ID] == 0 {
					t.Errorf("job %s (%s) skipped", j.ID, j.State)
				}
			}
		})
	}
}

// testJobStates: JobStates answers the tenant, kind, state and end time
// of the jobs asked that the store holds (an ended job's end time in
// UTC, to the nanosecond, as updated last; none for one that has not
// ended), leaves
// out those it does not hold, IDs no job can have included, and takes
// any number of IDs in one call (more than SQLite's variables).
func testJobStates(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := fresh(t, newDB)
	cest := time.FixedZone("CEST", 2*3600)
	end := at(time.Hour + time.Nanosecond)
	create(t, s, newJob("pending", "acme", 0))
	done := newJob("done", "acme", 1)
	create(t, s, done)
	failed := newJob("failed", "acme", 2, func(j *api.Job) {
		j.State, j.EndTime = api.StateFailed, ptr(at(time.Minute))
	})
	create(t, s, failed)
	create(t, s, newJob("svc", "beta", 3, func(j *api.Job) { j.Kind = "deployment" }))
	done.State, done.EndTime = api.StateSucceeded, ptr(end.In(cest))
	if err := s.Update(ctx, []*api.Job{done}, nil); err != nil {
		t.Fatalf("Update: %v", err)
	}
	ids := []string{"done", "missing", "pending", "failed", "done", "", "x\x00", "x\xff", "svc"}
	for i := range 40000 {
		ids = append(ids, fmt.Sprintf("absent-%d", i))
	}
	got, err := s.JobStates(ctx, ids)
	if err != nil {
		t.Fatalf("JobStates: %v", err)
	}
	want := map[string]store.JobState{
		"pending": {Tenant: "acme", Kind: "job", State: api.StatePending},
		"done":    {Tenant: "acme", Kind: "job", State: api.StateSucceeded, EndTime: ptr(end.UTC())},
		"failed":  {Tenant: "acme", Kind: "job", State: api.StateFailed, EndTime: ptr(at(time.Minute).UTC())},
		"svc":     {Tenant: "beta", Kind: "deployment", State: api.StatePending},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JobStates (-want +got):\n%s", diff)
	}
	if e := got["done"].EndTime; e != nil && e.Location() != time.UTC {
		t.Errorf("JobStates: done's end time %v, want it in UTC", e)
	}
	if got, err := s.JobStates(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("JobStates(none) = %v, %v; want nothing", got, err)
	}
}
