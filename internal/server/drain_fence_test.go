package server

import (
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// A node both drained and fenced takes no work until both are undone:
// undoing one says that the other still holds it, and only undoing the
// second says it takes work again.
func TestUndoOneOfDrainAndFenceSaysTheOtherHolds(t *testing.T) {
	for _, c := range []struct {
		first, second, stillMsg, freeMsg string
	}{
		{"unfence", "undrain", "node n1 unfenced: it is still drained", "node n1 undrained: takes new work"},
		{"undrain", "unfence", "node n1 undrained: it is still fenced", "node n1 unfenced: it takes work again"},
	} {
		t.Run(c.first, func(t *testing.T) {
			e := devEnv(t)
			for _, op := range []string{"drain", "fence"} {
				if code := e.do("POST", "/v1/nodes/n1/"+op, nil, nil); code != 200 {
					t.Fatalf("%s: %d", op, code)
				}
			}
			if code := e.do("POST", "/v1/nodes/n1/"+c.first, nil, nil); code != 200 {
				t.Fatalf("%s: %d", c.first, code)
			}
			id := e.submit(spec(1, 1))
			e.pass()
			if j := e.job(id); j.State != api.StatePending {
				t.Fatalf("after %s, job: %s, want pending", c.first, j.State)
			}
			evs := e.nodeEvents("n1", c.stillMsg[:strings.Index(c.stillMsg, ":")])
			if len(evs) != 1 || !strings.HasPrefix(evs[0].Message, c.stillMsg) {
				t.Errorf("%s events %+v, want one starting %q", c.first, evs, c.stillMsg)
			}
			if code := e.do("POST", "/v1/nodes/n1/"+c.second, nil, nil); code != 200 {
				t.Fatalf("%s: %d", c.second, code)
			}
			e.pass()
			if cond := e.condition("n1"); cond != model.NodeUp {
				t.Fatalf("after both undone: %s, want up", cond)
			}
			if evs := e.nodeEvents("n1", c.freeMsg); len(evs) != 1 {
				t.Errorf("%s events %+v, want one saying %q", c.second, evs, c.freeMsg)
			}
		})
	}
}

// Undraining a node that is not ready (silent, or listed in the facility
// file and never registered) says it takes work once it is ready, not
// that it takes new work now, as unfencing one does.
func TestUndrainNotReadyNodeSaysWhenItTakesWork(t *testing.T) {
	e := newEnv(t, twoListed(), false)
	if code := e.register("a1", "a", 8); code != 200 {
		t.Fatalf("register a1: %d", code)
	}
	e.clock.add(time.Minute)
	e.pass() // a1 is not ready; a2 never registered
	for _, name := range []string{"a1", "a2"} {
		for _, op := range []string{"drain", "undrain"} {
			if code := e.do("POST", "/v1/nodes/"+name+"/"+op, nil, nil); code != 200 {
				t.Fatalf("%s %s: %d", op, name, code)
			}
		}
		evs := e.nodeEvents(name, "undrained")
		if len(evs) != 1 || !strings.Contains(evs[0].Message, "once it is ready") {
			t.Errorf("%s's undrain events %+v; want one saying it takes work once it is ready", name, evs)
		}
	}
}
