package server

import (
	"strings"
	"testing"

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
