package yamlin

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "j.yaml", Line: 3, Path: "jobs[0].gpus", Msg: "must be ≥ 0"}, "j.yaml:3: jobs[0].gpus: must be ≥ 0"},
		{Error{File: "j.yaml", Line: 3, Msg: "bad"}, "j.yaml:3: bad"},
		{Error{File: "j.yaml", Path: "jobs", Msg: "bad"}, "j.yaml: jobs: bad"},
		{Error{File: "j.yaml", Msg: "empty"}, "j.yaml: empty"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%#v: got %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestList(t *testing.T) {
	l := ErrorList{{File: "f", Line: 1, Msg: "a"}, {File: "f", Line: 2, Msg: "b"}}
	if got, want := l.Error(), "f:1: a\nf:2: b"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (ErrorList{}).Error(); got != "no errors" {
		t.Errorf("empty list reads %q", got)
	}
	err := fmt.Errorf("load: %w", l)
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("errors.As found no ErrorList in %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e != l[0] {
		t.Fatalf("errors.As found %v, want the first entry", e)
	}
}

func TestCollector(t *testing.T) {
	c := &Collector{File: "f"}
	if err := c.Err(); err != nil {
		t.Fatalf("empty collector: %v", err)
	}
	c.Add(5, "x", "five")
	c.Add(0, "", "file")
	c.Add(2, "y", "two %d", 2)
	c.Add(2, "z", "two again")
	want := []string{"f: file", "f:2: y: two 2", "f:2: z: two again", "f:5: x: five"}
	if diff := cmp.Diff(want, lines(t, c.Err())); diff != "" {
		t.Errorf("sorted (-want +got):\n%s", diff)
	}
	if c.Count() != 4 {
		t.Errorf("Count() = %d, want 4", c.Count())
	}
}

func TestCollectorMax(t *testing.T) {
	c := &Collector{File: "f", Max: 2}
	for i := 5; i > 0; i-- {
		c.Add(i, "", "problem %d", i)
	}
	if c.Count() != 5 {
		t.Errorf("Count() = %d, want 5", c.Count())
	}
	want := []string{"f:4: problem 4", "f:5: problem 5", "f: 3 more problems not shown; fix the ones above first"}
	for range 2 { // Err can be asked twice
		if diff := cmp.Diff(want, lines(t, c.Err())); diff != "" {
			t.Errorf("capped (-want +got):\n%s", diff)
		}
	}
}

func lines(t *testing.T, err error) []string {
	t.Helper()
	var l ErrorList
	if !errors.As(err, &l) {
		t.Fatalf("%v (%T) is not an ErrorList", err, err)
	}
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = e.Error()
	}
	return out
}
