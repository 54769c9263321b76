package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// testUnstorableLookups: a key or filter holding what PostgreSQL refuses
// in text (the NUL character, bytes that are not UTF-8) names nothing:
// reads answer as for any other key that is not there, not with an
// error.
func testUnstorableLookups(t *testing.T, newDB NewDB) {
	s := fresh(t, newDB)
	ctx := context.Background()
	create(t, s, newJob("here", "acme", 0))
	for _, bad := range []string{"\x00", "\xff", "\xc3"} {
		if j, err := s.Job(ctx, "here"+bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Job(here%+q) = %+v, %v; want ErrNotFound", bad, j, err)
		}
		if b, err := s.Record(ctx, "secret", "acme/"+bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Record(secret, acme/%+q) = %q, %v; want ErrNotFound", bad, b, err)
		}
		if recs, err := s.Records(ctx, "se"+bad+"cret"); err != nil || len(recs) != 0 {
			t.Errorf("Records(se%+qcret) = %v, %v; want none", bad, recs, err)
		}
		if id, err := s.KeyedJob(ctx, "acme", "k"+bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("KeyedJob(acme, k%+q) = %q, %v; want ErrNotFound", bad, id, err)
		}
		for _, f := range []store.JobFilter{{Tenant: "acme" + bad}, {States: []string{"pending" + bad}}, {PriorityClass: bad}, {Kind: "job" + bad}} {
			if jobs, next, err := s.Jobs(ctx, f); err != nil || len(jobs) != 0 || next != "" {
				t.Errorf("Jobs(%#v) = %d jobs, %q, %v; want none", f, len(jobs), next, err)
			}
		}
		for _, f := range []store.EventFilter{{Job: "here" + bad}, {Tenant: "acme" + bad}} {
			if evs, err := s.Events(ctx, f); err != nil || len(evs) != 0 {
				t.Errorf("Events(%#v) = %v, %v; want none", f, evs, err)
			}
		}
	}
	// A state that names nothing leaves the others to match.
	if jobs, _, err := s.Jobs(ctx, store.JobFilter{States: []string{"pending\xff", "pending"}}); err != nil || len(jobs) != 1 {
		t.Errorf("Jobs(states pending\\xff, pending) = %d jobs, %v; want 1", len(jobs), err)
	}
}

// testNULWrites: every store refuses a write holding the NUL character in
// a string (PostgreSQL cannot keep it in text or JSONB) with
// store.ErrNUL, and keeps nothing of it; the text `\u0000` (a backslash,
// then "u0000") is no NUL, and round-trips.
func testNULWrites(t *testing.T, newDB NewDB) {
	s := fresh(t, newDB)
	ctx := context.Background()
	here := newJob("here", "acme", 0)
	create(t, s, here)
	for name, write := range map[string]func() error{
		"CreateJob, the job's message": func() error {
			j := newJob("nul", "acme", 1, func(j *api.Job) { j.Message = "a\x00b" })
			_, _, err := s.CreateJob(ctx, j, "", submitted(j))
			return err
		},
		"CreateJob, the tenant": func() error {
			j := newJob("nul", "ac\x00me", 1)
			_, _, err := s.CreateJob(ctx, j, "", submitted(j))
			return err
		},
		"CreateJob, its event": func() error {
			j := newJob("nul", "acme", 1)
			ev := submitted(j)
			ev.Message += "\x00"
			_, _, err := s.CreateJob(ctx, j, "", ev)
			return err
		},
		"CreateJob, the idempotency key": func() error {
			j := newJob("nul", "acme", 1)
			_, _, err := s.CreateJob(ctx, j, "k\x00", submitted(j))
			return err
		},
		"Update, a replica's error": func() error {
			j := clone(t, here)
			j.Replicas = []api.Replica{{Node: "n1", State: api.ReplicaFailed, Error: "exec: \x00"}}
			return s.Update(ctx, []*api.Job{j}, nil)
		},
		"Update, an event": func() error {
			return s.Update(ctx, []*api.Job{clone(t, here)}, []api.Event{{Time: at(2), Job: "here", Tenant: "acme", Type: "checkpoint", Message: "saved\x00"}})
		},
		"Update, a node": func() error {
			return s.Update(ctx, nil, nil, &api.Node{Name: "n1", Address: "http://a\x00"})
		},
		"PutNode": func() error { return s.PutNode(ctx, &api.Node{Name: "n\x00"}) },
		"PutRecords, the key": func() error {
			return s.PutRecords(ctx, []store.Record{{Kind: "secret", Key: "acme/\x00", Doc: []byte("x")}}, nil)
		},
		"PutRecords, an event": func() error {
			return s.PutRecords(ctx, nil, []api.Event{{Time: at(2), Type: "secret", Message: "\x00"}})
		},
	} {
		if err := write(); !errors.Is(err, store.ErrNUL) {
			t.Errorf("%s with a NUL: %v; want ErrNUL", name, err)
		}
	}
	if _, err := s.Job(ctx, "nul"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(nul) after the refused writes: %v; want ErrNotFound", err)
	}
	if got, err := s.Job(ctx, "here"); err != nil || len(got.Replicas) != 0 {
		t.Errorf("Job(here) after the refused writes: %+v, %v; want it as created", got, err)
	}
	evs, err := s.Events(ctx, store.EventFilter{})
	if err != nil || len(evs) != 1 {
		t.Errorf("Events after the refused writes: %v, %v; want the one of the job created", evs, err)
	}
	if nodes, err := s.Nodes(ctx); err != nil || len(nodes) != 0 {
		t.Errorf("Nodes after the refused writes: %v, %v; want none", nodes, err)
	}
	if recs, err := s.Records(ctx, "secret"); err != nil || len(recs) != 0 {
		t.Errorf("Records after the refused writes: %v, %v; want none", recs, err)
	}

	text := newJob("text", "acme", 3, func(j *api.Job) { j.Message = `a \u0000 \\u0000 b` })
	create(t, s, text)
	if got, err := s.Job(ctx, "text"); err != nil || got.Message != text.Message {
		t.Errorf("Job(text) = %+v, %v; want its message %q", got, err, text.Message)
	}
}
