package server

import (
	"net/http"
	"testing"
	"time"
)

// The job token of a running attempt holds at the next leader on
// PostgreSQL: its MAC covers the attempt's start, which the next leader
// reads back from the job's JSONB document, to the nanosecond and
// whatever the location of the clock that set it; the next leader hands
// the attempt's tasks the same token.
func TestJobTokenHoldsAtTheNextLeaderOnPostgres(t *testing.T) {
	cest := time.FixedZone("CEST", 2*3600)
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 123456789, cest)}
	leader := pgLeaders(t, clk)
	e := leader()
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register: %d", code)
	}
	id := e.submit(spec(1, 1))
	clk.add(1001 * time.Nanosecond)
	e.pass()
	e.report("n1", running(id, 0, 1))
	tok := taskToken(e, id)
	if code, body := e.doWith(bearer(tok), "POST", "/v1/jobs/"+id+"/checkpoint", nil, nil); code != http.StatusOK {
		t.Fatalf("the job token at the first leader: %d %s; want 200", code, body)
	}
	e.s.Retire()

	clk.add(time.Minute)
	e = leader()
	e.report("n1", running(id, 0, 1))
	if j := e.job(id); j.Attempt != 1 || j.StartTime == nil {
		t.Fatalf("job %s at the next leader: attempt %d, start %v; want attempt 1 still", id, j.Attempt, j.StartTime)
	}
	if code, body := e.doWith(bearer(tok), "POST", "/v1/jobs/"+id+"/checkpoint", nil, nil); code != http.StatusOK {
		t.Errorf("the job token of the running attempt at the next leader: %d %s; want 200", code, body)
	}
	if got := taskToken(e, id); got != tok {
		t.Errorf("the next leader hands the running attempt another token")
	}
}
