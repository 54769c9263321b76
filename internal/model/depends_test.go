package model

import "testing"

// Each dependency type is met by the ends Slurm's type of its name
// accepts, and is written as the job file writes it.
func TestDepTypes(t *testing.T) {
	for _, c := range []struct {
		t               DepType
		succeeded, fail bool // Met(true), Met(false)
		written         string
	}{
		{AfterOK, true, false, "train"},
		{AfterAny, true, true, "afterany:train"},
		{AfterNotOK, false, true, "afternotok:train"},
	} {
		if c.t.Met(true) != c.succeeded || c.t.Met(false) != c.fail {
			t.Errorf("%s: met by success %v, by failure %v; want %v, %v", c.t, c.t.Met(true), c.t.Met(false), c.succeeded, c.fail)
		}
		if got := (Dependency{Job: "train", Type: c.t}).String(); got != c.written {
			t.Errorf("%s: written %q; want %q", c.t, got, c.written)
		}
		if p, ok := ParseDepType(c.t.String()); !ok || p != c.t {
			t.Errorf("ParseDepType(%q) = %v, %v", c.t, p, ok)
		}
	}
	if _, ok := ParseDepType("after"); ok {
		t.Error(`ParseDepType("after") is ok; Carnot has no after type`)
	}
	waits := []Dependency{{Job: "eval", Type: AfterNotOK}, {Job: "prep"}, {Job: "train", Type: AfterAny}, {Job: "x"}}
	got := DependencyWait(waits, func(id string) string { return "pending" })
	if want := "dependency: waits for prep (pending), x (pending) to succeed, train (pending) to end and eval (pending) to fail or be cancelled"; got != want {
		t.Errorf("DependencyWait: %q; want %q", got, want)
	}
}
