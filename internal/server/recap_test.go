package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/audit"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// recapEnv is a node n1 of 8 H100s (no base power) in a site whose 4.8
// kW envelope fits a 4-GPU job at TDP (2.8 kW, and 288 W for the other
// four GPUs idle) and a second one only capped (at most 500 W a GPU).
func recapEnv(t *testing.T) *env {
	t.Helper()
	fac := DevFacility("local", "FR")
	fac.Sites[0].PowerEnvelopeKW = 4.8
	fac.Policy.PowerRecap = true
	e := newEnv(t, fac, true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register: %d", code)
	}
	return e
}

// withRecaps makes the next passes' plans carry recaps: the core's
// plan, its own recaps replaced by those recaps returns for it.
func (e *env) withRecaps(recaps func(p *model.Plan) []model.Recap) {
	e.s.schedule = func(snap *model.Snapshot, q *sched.Queue, now model.Time, depth int) (model.Plan, []*model.Job) {
		p, considered := sched.Quick(snap, q, now, depth)
		p.Recaps = recaps(&p)
		return p, considered
	}
}

// passFreed runs a pass as after a job's end, which frees power: with
// an empty queue it runs the core for the capped jobs alone (mayRecap).
func (e *env) passFreed() {
	e.s.mu.Lock()
	e.s.freed = true
	e.s.mu.Unlock()
	e.pass()
}

// startCapped starts job a at TDP and then job b, which the envelope
// lets start only capped, and reports both running. It returns b's cap.
func startCapped(e *env, b map[string]any) (a, bID string, capW int) {
	e.t.Helper()
	a = e.submit(spec(4, 1))
	e.pass()
	bID = e.submit(b)
	e.pass()
	ja, jb := e.job(a), e.job(bID)
	if ja.State != api.StateRunning || ja.Replicas[0].PowerCapW != 0 || jb.State != api.StateRunning {
		e.t.Fatalf("a %s cap %v, b %s: want both running, a uncapped", ja.State, ja.Replicas, jb.State)
	}
	capW = jb.Replicas[0].PowerCapW
	if capW <= 0 || capW >= 700 {
		e.t.Fatalf("b's cap %d W, want it capped below the H100's 700 W", capW)
	}
	e.report("n1", running(a, 0, 1), running(bID, 0, 1))
	return a, bID, capW
}

// taskOf is the task of job's replica 0 in n1's assignments.
func (e *env) taskOf(job string) api.Task {
	e.t.Helper()
	for _, tk := range e.tasks("n1") {
		if tk.Job == job && tk.Replica == 0 {
			return tk
		}
	}
	e.t.Fatalf("no task of %s on n1: %+v", job, e.tasks("n1"))
	return api.Task{}
}

// recapEvents are the recap events of job.
func (e *env) recapEvents(job string) []api.Event {
	e.t.Helper()
	var evs api.EventList
	if code := e.do("GET", "/v1/jobs/"+job+"/events", nil, &evs); code != 200 {
		e.t.Fatalf("events of %s: %d", job, code)
	}
	var out []api.Event
	for _, ev := range evs.Events {
		if ev.Type == api.EventRecap {
			out = append(out, ev)
		}
	}
	return out
}

func (e *env) version(node string) int64 {
	e.t.Helper()
	var as api.Assignments
	if code := e.do("GET", "/v1/agent/nodes/"+node+"/assignments", nil, &as); code != 200 {
		e.t.Fatalf("assignments of %s: %d", node, code)
	}
	return as.Version
}

// A plan's recap raises the cap of every replica of a running job: in
// the job's stored document, with an event, in the task its agent
// fetches (its assignments' version changes, waking its long poll), in
// the plan the server shows, and in the snapshot the next pass and a
// restarted server see. A recap to 0 lifts the cap.
func TestRecapRaisesRunningJobsCap(t *testing.T) {
	e := recapEnv(t)
	a, b, capW := startCapped(e, spec(4, 1))
	e.report("n1", exited(a, 0, 1, 0), running(b, 0, 1))
	recap := model.Recap{Job: b, PowerCapW: 650, PowerW: 4 * float64(650-capW)}
	e.withRecaps(func(*model.Plan) []model.Recap { return []model.Recap{recap} })
	v := e.version("n1")
	e.pass() // the queue is empty: the pass runs for the capped job alone

	j := e.job(b)
	if len(j.Replicas) != 1 || j.Replicas[0].PowerCapW != 650 || j.Replicas[0].State != api.ReplicaRunning {
		t.Fatalf("b's replicas %+v after the recap, want running at 650 W", j.Replicas)
	}
	if j.Replicas[0].StartPowerCapW != capW {
		t.Errorf("b's replica %+v after the recap, want its start cap %d W kept", j.Replicas[0], capW)
	}
	if stored, err := e.s.store.Job(context.Background(), b); err != nil || stored.Replicas[0].PowerCapW != 650 || stored.Replicas[0].StartPowerCapW != capW {
		t.Fatalf("stored b: %v, err %v; want its replica at 650 W, started at %d W", stored, err, capW)
	}
	evs := e.recapEvents(b)
	if len(evs) != 1 || !strings.Contains(evs[0].Message, "power cap raised to 650 W") || evs[0].Tenant != "default" {
		t.Errorf("recap events %+v, want one saying the cap was raised to 650 W", evs)
	}
	if tk := e.taskOf(b); tk.PowerCapW != 650 {
		t.Errorf("b's task has power_cap_w %d, want 650", tk.PowerCapW)
	}
	if e.version("n1") == v {
		t.Errorf("n1's assignments version did not change: its agent is not woken")
	}
	var p api.Plan
	if code := e.do("GET", "/v1/plan", nil, &p); code != 200 || len(p.Recaps) != 1 || p.Recaps[0] != (api.PlanRecap{Job: b, PowerCapW: 650, PowerW: recap.PowerW}) {
		t.Errorf("GET /v1/plan: %d, recaps %+v; want b's to 650 W", code, p.Recaps)
	}
	if got := snapshotCaps(e.s, b); !slices.Equal(got, []capOf{{650, capW}}) {
		t.Errorf("the next pass sees b's caps %v, want [650 W, started at %d W]", got, capW)
	}
	// A restarted server reads the raised cap and the start cap from the store.
	s2, err := New(context.Background(), e.s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := snapshotCaps(s2, b); !slices.Equal(got, []capOf{{650, capW}}) {
		t.Errorf("a server reloaded from the store sees b's caps %v, want [650 W, started at %d W]", got, capW)
	}

	// Lifted: the task asks for no cap (its GPUs' own limit).
	e.withRecaps(func(*model.Plan) []model.Recap { return []model.Recap{{Job: b, PowerCapW: 0, PowerW: 4 * 50}} })
	e.passFreed()
	if j := e.job(b); j.Replicas[0].PowerCapW != 0 || j.Replicas[0].StartPowerCapW != capW {
		t.Errorf("b's replica %+v after the cap was lifted, want no cap, started at %d W", j.Replicas[0], capW)
	}
	if tk := e.taskOf(b); tk.PowerCapW != 0 {
		t.Errorf("b's task has power_cap_w %d after the cap was lifted, want 0", tk.PowerCapW)
	}
	if evs := e.recapEvents(b); len(evs) != 2 || !strings.Contains(evs[1].Message, "power cap lifted") {
		t.Errorf("recap events %+v, want the second saying the cap was lifted", evs)
	}
	if got := snapshotCaps(e.s, b); !slices.Equal(got, []capOf{{0, capW}}) {
		t.Errorf("the next pass sees b's caps %v, want [uncapped, started at %d W]", got, capW)
	}

	// A recap to the cap a replica has changes nothing: dropped.
	// (A job that waits for b's GPUs makes the pass run.)
	e.withRecaps(func(*model.Plan) []model.Recap { return []model.Recap{{Job: b, PowerCapW: 0}} })
	e.submit(spec(8, 1))
	v = e.version("n1")
	e.pass()
	if j := e.job(b); j.Replicas[0].PowerCapW != 0 || len(e.recapEvents(b)) != 2 || e.version("n1") != v {
		t.Errorf("a recap of an uncapped replica to no cap: replica %+v, %d recap events, version moved %v; want nothing changed",
			j.Replicas[0], len(e.recapEvents(b)), e.version("n1") != v)
	}
	if code := e.do("GET", "/v1/plan", nil, &p); code != 200 || len(p.Pending) != 1 || len(p.Recaps) != 0 {
		t.Errorf("GET /v1/plan after a recap that changed nothing: pending %+v, recaps %+v; want the waiting job and no recap", p.Pending, p.Recaps)
	}
}

// capOf is a placement's cap and start cap (model.Placement).
type capOf struct{ cap, start int }

// snapshotCaps is the caps of job's placements in the snapshot the
// core gets.
func snapshotCaps(s *Server, job string) []capOf {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []capOf
	for _, a := range s.snapshot(s.cfg.Now()).Running {
		if a.Job.ID == job {
			for _, p := range a.Replicas {
				out = append(out, capOf{p.PowerCapW, p.StartCapW})
			}
		}
	}
	return out
}

// A recap may lower a cap an earlier recap raised, giving the lent power
// back, as far as the cap the replica started with: the job's stored
// document, an event, the task its agent fetches (its long poll woken),
// the plan and the snapshot the next pass and a restarted server see all
// have the lower cap, and the start cap stays.
func TestRecapLowersLentPower(t *testing.T) {
	e := recapEnv(t)
	a, b, capW := startCapped(e, spec(4, 1))
	e.report("n1", exited(a, 0, 1, 0), running(b, 0, 1))
	e.withRecaps(func(*model.Plan) []model.Recap {
		return []model.Recap{{Job: b, PowerCapW: 650, PowerW: 4 * float64(650-capW)}}
	})
	e.pass()
	if j := e.job(b); j.Replicas[0].PowerCapW != 650 || j.Replicas[0].StartPowerCapW != capW {
		t.Fatalf("b's replica %+v after its raise, want 650 W, started at %d W", j.Replicas[0], capW)
	}

	for i, c := range []struct {
		to      int
		powerW  float64
		msg     string
		wantCap capOf
	}{
		{600, -4 * 50, "power cap lowered to 600 W (was 650 W): lent power taken back", capOf{600, capW}},
		{0, 4 * 100, "power cap lifted (was 600 W)", capOf{0, capW}},
		{capW, -4 * float64(700-capW), fmt.Sprintf("power cap lowered to %d W (was uncapped): lent power taken back", capW), capOf{capW, capW}},
	} {
		rc := model.Recap{Job: b, PowerCapW: c.to, PowerW: c.powerW}
		e.withRecaps(func(*model.Plan) []model.Recap { return []model.Recap{rc} })
		v := e.version("n1")
		if i == 0 {
			e.submit(spec(8, 1)) // waits for b's GPUs: the passes run
		}
		e.pass()

		j := e.job(b)
		if j.Replicas[0].PowerCapW != c.wantCap.cap || j.Replicas[0].StartPowerCapW != capW || j.Replicas[0].State != api.ReplicaRunning {
			t.Fatalf("recap to %d W: b's replica %+v, want it running at %d W, started at %d W", c.to, j.Replicas[0], c.wantCap.cap, capW)
		}
		stored, err := e.s.store.Job(context.Background(), b)
		if err != nil || stored.Replicas[0].PowerCapW != c.wantCap.cap || stored.Replicas[0].StartPowerCapW != capW {
			t.Fatalf("stored b: %+v, err %v; want its replica at %d W, started at %d W", stored, err, c.wantCap.cap, capW)
		}
		if evs := e.recapEvents(b); len(evs) != i+2 || !strings.HasPrefix(evs[i+1].Message, c.msg) {
			t.Errorf("recap events %+v, want the last saying %q", evs, c.msg)
		}
		if tk := e.taskOf(b); tk.PowerCapW != c.wantCap.cap {
			t.Errorf("b's task has power_cap_w %d, want %d", tk.PowerCapW, c.wantCap.cap)
		}
		if e.version("n1") == v {
			t.Errorf("n1's assignments version did not change: its agent is not woken")
		}
		var p api.Plan
		if code := e.do("GET", "/v1/plan", nil, &p); code != 200 || len(p.Recaps) != 1 || p.Recaps[0] != (api.PlanRecap{Job: b, PowerCapW: c.to, PowerW: c.powerW}) {
			t.Errorf("GET /v1/plan: %d, recaps %+v; want b's to %d W", code, p.Recaps, c.to)
		}
		// A lowering counts once b's agent reports the lower limit set:
		// until then its GPUs may draw what they did (uncapped: TDP).
		if lowered := c.to != 0; lowered {
			was := capOf{650, 0}
			if i == 2 {
				was = capOf{0, 0}
			}
			if got := snapshotCaps(e.s, b); !slices.Equal(got, []capOf{was}) {
				t.Errorf("before b's agent reports %d W the next pass sees b's caps %v, want %v", c.to, got, was)
			}
		}
		e.report("n1", withCap(running(b, 0, 1), c.to))
		if got := snapshotCaps(e.s, b); !slices.Equal(got, []capOf{c.wantCap}) {
			t.Errorf("the next pass sees b's caps %v, want %v", got, c.wantCap)
		}
		s2, err := New(context.Background(), e.s.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := snapshotCaps(s2, b); !slices.Equal(got, []capOf{c.wantCap}) {
			t.Errorf("a server reloaded from the store sees b's caps %v, want %v", got, c.wantCap)
		}
	}
}

// A pass that starts a job on power it takes back from another commits
// both at once, with a start and a recap event: the node's next
// assignments carry the lower cap, and the new task once the agent
// reports the lower limit set (a GPU may refuse it; see
// TestStartWaitsForLoweringOnItsOwnNode).
func TestRecapLowersInTheCommitOfTheStart(t *testing.T) {
	e := recapEnv(t)
	a, b, capW := startCapped(e, spec(4, 1))
	e.report("n1", exited(a, 0, 1, 0), running(b, 0, 1))
	e.withRecaps(func(*model.Plan) []model.Recap { return []model.Recap{{Job: b, PowerCapW: 650}} })
	e.pass()
	lower := model.Recap{Job: b, PowerCapW: capW, PowerW: -4 * float64(650-capW)}
	c := e.submit(spec(4, 1))
	e.withRecaps(func(p *model.Plan) []model.Recap {
		if slices.ContainsFunc(p.Starts, func(st model.Start) bool { return st.Job == c }) {
			return []model.Recap{lower}
		}
		return nil
	})
	v := e.version("n1")
	e.pass()
	var as api.Assignments
	if code := e.do("GET", fmt.Sprintf("/v1/agent/nodes/n1/assignments?after=%d&wait=1s", v), nil, &as); code != 200 {
		t.Fatalf("assignments of n1: %d", code)
	}
	caps := map[string]int{}
	for _, tk := range as.Tasks {
		caps[tk.Job] = tk.PowerCapW
	}
	if _, ok := caps[c]; len(as.Tasks) != 1 || caps[b] != capW || ok {
		t.Errorf("n1's first assignments after the pass: %+v; want b's at %d W, c's not yet", as.Tasks, capW)
	}
	e.report("n1", withCap(running(b, 0, 1), capW))
	if !e.listed("n1", c) {
		t.Errorf("n1's tasks %+v once b's limit is set; want c's", e.tasks("n1"))
	}
	if j := e.job(c); j.State != api.StateRunning {
		t.Errorf("c %s, want it started", j.State)
	}
	if evs := e.recapEvents(b); len(evs) != 2 || !strings.HasPrefix(evs[1].Message, fmt.Sprintf("power cap lowered to %d W (was 650 W)", capW)) {
		t.Errorf("b's recap events %+v, want the second lowering its cap to %d W", evs, capW)
	}
}

// A recap may lower a cap only as far as the replica's own cap, the one
// it started with (uncapped: TDP): one below it is dropped at commit,
// with a log line, whether the replica was raised or not. plan.Verify
// refuses such a recap too; the loop checks it before.
func TestRecapNeverBelowOwnCap(t *testing.T) {
	e := recapEnv(t)
	var logs syncBuffer
	e.s.log = slog.New(slog.NewTextHandler(&logs, nil))
	a, b, capW := startCapped(e, spec(4, 1))
	below := func(job string, w int) {
		t.Helper()
		from := len(logs.Bytes())
		e.withRecaps(func(*model.Plan) []model.Recap { return []model.Recap{{Job: job, PowerCapW: w}} })
		e.passFreed() // the queue is empty: the pass runs for the capped job alone
		if got := string(logs.Bytes()[from:]); !strings.Contains(got, "below its own cap") || !strings.Contains(got, job) {
			t.Errorf("a recap of %s to %d W: logs %q, want a line saying it was dropped, below the replica's own cap", job, w, got)
		}
		var p api.Plan
		if e.do("GET", "/v1/plan", nil, &p); len(p.Starts) != 0 || len(p.Recaps) != 0 {
			t.Errorf("the plan of the pass with the recap of %s to %d W: %+v, want no start and no recap", job, w, p)
		}
	}
	below(b, capW-100)
	below(a, 600) // a runs uncapped: its own cap is its GPUs' own limit
	if j := e.job(b); j.Replicas[0].PowerCapW != capW || j.Replicas[0].StartPowerCapW != 0 || len(e.recapEvents(b)) != 0 {
		t.Errorf("b after recaps below its %d W cap: replica %+v, recap events %+v; want nothing changed", capW, j.Replicas[0], e.recapEvents(b))
	}
	if j := e.job(a); j.Replicas[0].PowerCapW != 0 || len(e.recapEvents(a)) != 0 {
		t.Errorf("a after a recap that would cap it: replica %+v, recap events %+v; want nothing changed", j.Replicas[0], e.recapEvents(a))
	}

	// Raised, b may come down to its own cap, not below.
	e.report("n1", exited(a, 0, 1, 0), running(b, 0, 1))
	e.withRecaps(func(*model.Plan) []model.Recap { return []model.Recap{{Job: b, PowerCapW: 650}} })
	e.pass()
	below(b, capW-100)
	if j := e.job(b); j.Replicas[0].PowerCapW != 650 || j.Replicas[0].StartPowerCapW != capW || len(e.recapEvents(b)) != 1 {
		t.Errorf("b raised to 650 W, then a recap below its %d W own cap: replica %+v, recap events %+v; want it at 650 W",
			capW, j.Replicas[0], e.recapEvents(b))
	}
}

// Recaps go through the loop's filtering at commit: a recap of a job
// that no longer runs, of one being stopped (cancelled), or of a victim
// of the same plan is dropped.
func TestRecapDroppedAtCommit(t *testing.T) {
	e := recapEnv(t)
	_, b, capW := startCapped(e, spec(4, 1, "priority_class", "low"))
	ghost := "j-ghost"
	e.withRecaps(func(p *model.Plan) []model.Recap {
		return []model.Recap{{Job: ghost, PowerCapW: 650}, {Job: b, PowerCapW: 650, PowerW: 4 * float64(650-capW)}}
	})
	// A job of a higher class takes the whole node: a and b are its
	// victims, and b's recap in the same plan is dropped.
	c := e.submit(spec(8, 1, "priority_class", "high"))
	e.pass()
	if jb := e.job(b); jb.State != api.StatePreempting || jb.Replicas[0].PowerCapW != capW {
		t.Fatalf("b %s with replica %+v; want it preempted for %s, its cap %d W kept", jb.State, jb.Replicas[0], c, capW)
	}
	if len(e.recapEvents(b)) != 0 {
		t.Errorf("b, preempted, got recap events %+v", e.recapEvents(b))
	}
	var p api.Plan
	if e.do("GET", "/v1/plan", nil, &p); len(p.Preemptions) == 0 || len(p.Recaps) != 0 {
		t.Errorf("plan %+v, want preemptions and no recap", p)
	}

	// Being stopped: a cancelled job's recap is dropped too.
	e2 := recapEnv(t)
	_, b2, capW2 := startCapped(e2, spec(4, 1))
	if code := e2.do("POST", "/v1/jobs/"+b2+"/cancel", nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel %s: %d", b2, code)
	}
	e2.withRecaps(func(*model.Plan) []model.Recap { return []model.Recap{{Job: b2, PowerCapW: 650}} })
	e2.submit(spec(8, 1)) // waits: the pass runs
	e2.pass()
	if j := e2.job(b2); j.Replicas[0].PowerCapW != capW2 || len(e2.recapEvents(b2)) != 0 {
		t.Errorf("cancelling b: replica %+v, recap events %+v; want its %d W cap kept", j.Replicas[0], e2.recapEvents(b2), capW2)
	}
}

// The audit log records a recap as the scheduler's decision.
func TestRecapIsADecision(t *testing.T) {
	if kind, actor := actorOf(api.Event{Type: api.EventRecap, Job: "j"}); kind != audit.KindDecision || actor != "scheduler" {
		t.Errorf("a recap event is audited as %s by %s, want a decision of the scheduler", kind, actor)
	}
}

// With the real core: a job started capped because another held the
// site's power has its cap raised by the pass that follows the other
// job's end, though nothing waits in the queue, and its agent is told.
func TestRecapAfterOtherJobEnds(t *testing.T) {
	e := recapEnv(t)
	a, b, capW := startCapped(e, spec(4, 1))
	e.report("n1", exited(a, 0, 1, 0), running(b, 0, 1))
	e.pass()
	j := e.job(b)
	if w := j.Replicas[0].PowerCapW; w != 0 && w <= capW {
		t.Fatalf("b's cap %d W after a's end freed 2.8 kW, want it raised above %d W", w, capW)
	}
	if tk := e.taskOf(b); tk.PowerCapW != j.Replicas[0].PowerCapW {
		t.Errorf("b's task asks for %d W, its replica has %d W", tk.PowerCapW, j.Replicas[0].PowerCapW)
	}
	if evs := e.recapEvents(b); len(evs) != 1 {
		t.Errorf("recap events of b: %+v, want one", evs)
	}
}

// With the real core: the power a recap lent a job goes back to a job
// that arrives later and needs it, in the pass that starts that job;
// the lent job runs on at the cap it started with, not preempted.
func TestRecapTakenBackForANewJob(t *testing.T) {
	e := recapEnv(t)
	a, b, capW := startCapped(e, spec(4, 1))
	e.report("n1", exited(a, 0, 1, 0), running(b, 0, 1))
	e.pass()
	if r := e.job(b).Replicas[0]; (r.PowerCapW != 0 && r.PowerCapW <= capW) || r.StartPowerCapW != capW {
		t.Fatalf("b's replica %+v after a's end, want its cap raised above %d W, started at %d W", r, capW, capW)
	}
	c := e.submit(spec(4, 1))
	e.pass()
	jb, jc := e.job(b), e.job(c)
	if jc.State != api.StateRunning || jb.State != api.StateRunning {
		t.Fatalf("c %s, b %s; want both running", jc.State, jb.State)
	}
	if r := jb.Replicas[0]; r.PowerCapW == 0 || r.PowerCapW < capW || r.StartPowerCapW != capW {
		t.Errorf("b's replica %+v once c started, want its cap lowered, not below %d W", r, capW)
	}
	if tk := e.taskOf(b); tk.PowerCapW != jb.Replicas[0].PowerCapW {
		t.Errorf("b's task asks for %d W, its replica has %d W", tk.PowerCapW, jb.Replicas[0].PowerCapW)
	}
	if evs := e.recapEvents(b); len(evs) != 2 || !strings.Contains(evs[1].Message, "lent power taken back") {
		t.Errorf("recap events of b: %+v, want the second taking lent power back", evs)
	}
}

// With nothing queued the loop runs the core only while a running job is
// capped and the policy recaps.
func TestEmptyQueuePassOnlyForRecaps(t *testing.T) {
	for _, c := range []struct {
		name      string
		recap     bool
		end       string // which job ends: "a" leaves b capped, "b" leaves none
		wantCalls int
	}{
		{"capped job, recaps on", true, "a", 1},
		{"capped job, recaps off", false, "a", 0},
		{"no capped job", true, "b", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			fac := DevFacility("local", "FR")
			fac.Sites[0].PowerEnvelopeKW = 4.8
			fac.Policy.PowerRecap = c.recap
			e := newEnv(t, fac, true)
			e.register("n1", "local", 8)
			a, b, _ := startCapped(e, spec(4, 1))
			if c.end == "a" {
				e.report("n1", exited(a, 0, 1, 0), running(b, 0, 1))
			} else {
				e.report("n1", running(a, 0, 1), exited(b, 0, 1, 0))
			}
			calls := 0
			e.s.schedule = func(snap *model.Snapshot, q *sched.Queue, now model.Time, depth int) (model.Plan, []*model.Job) {
				calls++
				return sched.Quick(snap, q, now, depth)
			}
			e.pass()
			if calls != c.wantCalls {
				t.Errorf("the pass ran the core %d times, want %d", calls, c.wantCalls)
			}
			e.pass() // nothing ended since: nothing to lend
			if calls != c.wantCalls {
				t.Errorf("the next pass, with no job ended since, ran the core: %d calls, want %d", calls, c.wantCalls)
			}
		})
	}
}

// With the real core: a job on lent power that the pass preempts gives
// the loan back in the same plan, and the server applies that lowering
// (it used to drop every recap of a victim, and with it any start the
// core had made on the power).
func TestPreemptedJobGivesItsLoanBack(t *testing.T) {
	e := recapEnv(t)
	a, b, capW := startCapped(e, spec(4, 1, "priority_class", "low"))
	e.report("n1", exited(a, 0, 1, 0), running(b, 0, 1))
	e.pass()
	if r := e.job(b).Replicas[0]; (r.PowerCapW != 0 && r.PowerCapW <= capW) || r.StartPowerCapW != capW {
		t.Fatalf("b after a's end: replica %+v, want it raised over its own %d W", r, capW)
	}
	e.submit(spec(8, 1, "priority_class", "high")) // takes the whole node: b is its victim
	e.pass()
	jb := e.job(b)
	if jb.State != api.StatePreempting {
		t.Fatalf("b %s, want it preempted", jb.State)
	}
	if r := jb.Replicas[0]; r.PowerCapW != capW {
		t.Errorf("b preempted with replica %+v, want its cap back at its own %d W", r, capW)
	}
	if tk := e.taskOf(b); tk.PowerCapW != capW {
		t.Errorf("b's task asks for %d W, want %d W", tk.PowerCapW, capW)
	}
}
