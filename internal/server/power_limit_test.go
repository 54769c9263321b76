package server

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// refusedCapEnv is nodes n1 and n2 of 8 H100s (700 W) in a site of 8.8
// kW, which power capping alone shares: job a runs on n1 at TDP (5.6
// kW), so job b starts on n2 capped at 400 W a GPU (3.2 kW). It returns
// a and b.
func refusedCapEnv(t *testing.T) (e *env, a, b string) {
	t.Helper()
	fac := DevFacility("local", "FR")
	fac.Sites[0].PowerEnvelopeKW = 8.8
	e = newEnv(t, fac, true)
	for _, n := range []string{"n1", "n2"} {
		if code := e.register(n, "local", 8); code != 200 {
			t.Fatalf("register %s: %d", n, code)
		}
	}
	a = e.submit(spec(8, 1))
	e.pass()
	b = e.submit(spec(8, 1))
	e.pass()
	ja, jb := e.job(a), e.job(b)
	if ja.Replicas[0].Node != "n1" || ja.Replicas[0].PowerCapW != 0 || jb.Replicas[0].Node != "n2" || jb.Replicas[0].PowerCapW != 400 {
		t.Fatalf("a %+v, b %+v; want a on n1 uncapped, b on n2 at 400 W", ja.Replicas, jb.Replicas)
	}
	e.report("n1", withCap(running(a, 0, 1), 0))
	return e, a, b
}

// A GPU that refuses its cap runs at the limit its agent reports: the
// core counts the replica at that limit, not at the cap it planned, so
// the power that cap would have left is not given to another job, also
// after a restart. The job's document shows the limit, an event and a
// log line say so, and once the agent reports the cap set the replica
// counts at its cap again.
func TestRefusedCapCountsAtLimitInForce(t *testing.T) {
	e, a, b := refusedCapEnv(t)
	var logs syncBuffer
	e.s.log = slog.New(slog.NewTextHandler(&logs, nil))
	refused := withCap(running(b, 0, 1), 0) // its GPUs refused 400 W
	refused.Error = "power cap: GPU 0: NVML: invalid argument"
	e.report("n2", refused)
	e.report("n2", refused) // reported again: no second event
	r := e.job(b).Replicas[0]
	if r.PowerCapW != 400 || r.PowerLimitW == nil || *r.PowerLimitW != 0 {
		t.Fatalf("b's replica %+v; want its cap 400 W with its GPUs' limit 0 (their own) shown", r)
	}
	if evs := e.eventsOf(b, api.EventPowerLimit); len(evs) != 1 || !strings.Contains(evs[0], "above its 400 W cap") {
		t.Errorf("b's power-limit events %q; want one saying its GPUs run above its 400 W cap", evs)
	}
	if !strings.Contains(string(logs.Bytes()), "above its replica's cap") {
		t.Errorf("log %q; want a line on b's GPUs above its cap", string(logs.Bytes()))
	}
	if got := snapshotCaps(e.s, b); len(got) != 1 || got[0].cap != 0 {
		t.Errorf("the core sees b's caps %v; want it at its GPUs' own limit (0)", got)
	}
	e.report("n1", exited(a, 0, 1, 0))
	e = e.restart(true)
	e.register("n1", "local", 8)
	e.register("n2", "local", 8, refused)
	c := e.submit(spec(8, 1))
	e.pass()
	// b draws 5.6 kW at its GPUs' own limit: c fits only capped.
	if j := e.job(c); j.State != api.StateRunning || j.Replicas[0].PowerCapW != 400 {
		t.Fatalf("c %s %+v; want it started on n1 capped at 400 W, not on the power b's refused cap would leave", j.State, j.Replicas)
	}
	e.report("n2", withCap(running(b, 0, 1), 400))
	if r := e.job(b).Replicas[0]; r.PowerLimitW != nil {
		t.Errorf("b's replica %+v once its agent reports 400 W; want no limit above its cap shown", r)
	}
	if got := snapshotCaps(e.s, b); len(got) != 1 || got[0].cap != 400 {
		t.Errorf("the core sees b's caps %v once 400 W is set; want 400 W", got)
	}
	if evs := e.eventsOf(b, api.EventPowerLimit); len(evs) != 2 {
		t.Errorf("b's power-limit events %q; want a second once the cap is set", evs)
	}
}

// A lowering not yet reported set outlives the server: a held start
// cancelled before it, and then a restart (or a new leader), do not
// free the power the lowered replica may still draw. The next start in
// the site is not handed out on it: b may run at its GPUs' own 700 W
// until its agent reports 400 W, which leaves 3.2 kW, 400 W a GPU, to
// a job on n1.
func TestLoweringOutlivesRestart(t *testing.T) {
	e, b, c := lentAcrossNodes(t)
	if r := e.job(b).Replicas[0]; r.PowerLimitW == nil || *r.PowerLimitW != 0 {
		t.Errorf("b's replica %+v once lowered; want its GPUs' own limit (0) shown until its agent reports 400 W", r)
	}
	if code := e.do("POST", "/v1/jobs/"+c+"/cancel", nil, nil); code != 202 {
		t.Fatalf("cancel: %d", code)
	}
	e.report("n1", exited(c, 0, 1, 0))
	e = e.restart(true)
	e.register("n1", "local", 8) // before n2's agent is heard from
	d := e.submit(spec(8, 1))
	e.pass()
	for _, tk := range e.tasks("n1") {
		if tk.Job == d && (tk.PowerCapW == 0 || tk.PowerCapW > 400) {
			t.Fatalf("n1's task of d at %d W (0: uncapped) while b's GPUs may draw 700 W: the site would pass its 8.8 kW", tk.PowerCapW)
		}
	}
	e.register("n2", "local", 8, withCap(running(b, 0, 1), 400))
	if r := e.job(b).Replicas[0]; r.PowerLimitW != nil {
		t.Errorf("b's replica %+v once its agent reports 400 W; want no limit above its cap", r)
	}
}

// A lowering its agent has not applied yet is no news: b's agent
// reporting the limit it had, with no error, gets no event. The same
// limit with the task's error (a GPU refused the lower cap) does, once.
func TestRefusedLoweringTold(t *testing.T) {
	e, b, _ := lentAcrossNodes(t)
	e.report("n2", withCap(running(b, 0, 1), 0))
	e.report("n2", withCap(running(b, 0, 1), 500)) // a lowering on its way, or a stale report
	e.report("n2", withCap(running(b, 0, 1), 0))
	if evs := e.eventsOf(b, api.EventPowerLimit); len(evs) != 0 {
		t.Fatalf("b's power-limit events %q before its agent applied the lower cap; want none", evs)
	}
	refused := withCap(running(b, 0, 1), 0)
	refused.Error = "power cap: GPU 0: NVML: invalid argument"
	e.report("n2", refused)
	e.report("n2", refused)
	if evs := e.eventsOf(b, api.EventPowerLimit); len(evs) != 1 || !strings.Contains(evs[0], "above its 400 W cap") {
		t.Errorf("b's power-limit events %q once its agent reports the cap refused; want one", evs)
	}
}

// A server restarted with a lower envelope takes back the power it lent
// that the new envelope no longer has room for, at its first pass,
// though nothing waits in the queue: the lent job b, uncapped on the
// 4.8 kW that a's end left, is lowered to fit 3 kW (four GPUs idle at
// 72 W each leave it 2.7 kW, 678 W a GPU), never below its own 500 W.
func TestRestartWithLowerEnvelopeTakesLoansBack(t *testing.T) {
	e := recapEnv(t)
	a, b, capW := startCapped(e, spec(4, 1))
	e.report("n1", exited(a, 0, 1, 0), withCap(running(b, 0, 1), capW))
	e.pass()
	if r := e.job(b).Replicas[0]; r.PowerCapW != 0 {
		t.Fatalf("b %+v after a's end; want its cap lifted", r)
	}
	e.report("n1", withCap(running(b, 0, 1), 0))
	e.s.store.Close()
	fac := *e.s.cfg.Facility
	fac.Sites = slices.Clone(fac.Sites)
	fac.Sites[0].PowerEnvelopeKW = 3
	e = openEnv(t, e.dir, &fac, true, e.clock)
	e.register("n1", "local", 8, withCap(running(b, 0, 1), 0))
	e.pass()
	if r := e.job(b).Replicas[0]; r.PowerCapW == 0 || r.PowerCapW > 678 || r.PowerCapW < capW {
		t.Fatalf("b %+v after a restart with a 3 kW envelope; want its loan taken back to fit: %d to 678 W", r, capW)
	}
}

// A power limit below 0 in a task's status is no limit: the heartbeat
// or registration that reports one is refused, naming the field, and
// the limit the server counts stays (here the GPUs' own, which a
// negative report must not clear).
func TestNegativeReportedLimitRefused(t *testing.T) {
	e, _, b := refusedCapEnv(t)
	e.report("n2", withCap(running(b, 0, 1), 0))
	bad := withCap(running(b, 0, 1), -1)
	for _, path := range []string{"/v1/agent/nodes/n2/heartbeat", "/v1/agent/register"} {
		var body any = api.Heartbeat{Tasks: []api.TaskStatus{bad}}
		if path == "/v1/agent/register" {
			body = api.Register{Name: "n2", Site: "local", Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256, Tasks: []api.TaskStatus{bad}}
		}
		var p api.Problem
		code := e.do("POST", path, body, &p)
		if code != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "tasks[0].power_cap_w" || !strings.Contains(p.Errors[0].Message, "got -1") {
			t.Errorf("POST %s with power_cap_w -1: %d %+v; want 400 naming tasks[0].power_cap_w", path, code, p)
		}
	}
	if r := e.job(b).Replicas[0]; r.PowerLimitW == nil || *r.PowerLimitW != 0 {
		t.Errorf("b's replica %+v; want its GPUs' own limit still counted", r)
	}
}

// A start on power a lowering on its own node frees waits for that
// lowering too: the agent would start the new task even when a GPU
// refused the lower limit, and both would draw. So c, started on n1 on
// the power taken back from b there, reaches n1's agent only once b's
// agent reports the lower limit set; while it reports the higher one,
// refused, c waits.
func TestStartWaitsForLoweringOnItsOwnNode(t *testing.T) {
	e := recapEnv(t)
	a, b, capW := startCapped(e, spec(4, 1))
	e.report("n1", exited(a, 0, 1, 0), withCap(running(b, 0, 1), capW))
	e.pass()
	if r := e.job(b).Replicas[0]; r.PowerCapW != 0 {
		t.Fatalf("b %+v after a's end; want its cap lifted", r)
	}
	e.report("n1", withCap(running(b, 0, 1), 0))
	c := e.submit(spec(4, 1))
	e.pass()
	if r := e.job(b).Replicas[0]; r.PowerCapW != capW {
		t.Fatalf("b %+v once c started; want it lowered to %d W", r, capW)
	}
	if tk := e.taskOf(b); tk.PowerCapW != capW {
		t.Errorf("b's task asks for %d W; want %d W", tk.PowerCapW, capW)
	}
	refused := withCap(running(b, 0, 1), 0)
	refused.Error = "power cap: GPU 4: NVML: invalid argument"
	e.report("n1", refused)
	e.pass()
	if e.listed("n1", c) {
		t.Fatalf("n1's tasks list c while b's GPUs, which refused %d W, run at their own 700 W", capW)
	}
	e.report("n1", withCap(running(b, 0, 1), capW))
	if !e.listed("n1", c) {
		t.Errorf("n1's tasks %+v once b's limit is %d W; want c's", e.tasks("n1"), capW)
	}
}

// A node whose GPUs report a settable power range narrower than the
// catalog's for their model will refuse caps the core plans within the
// catalog's range, and then run at their own limit: its registration
// says so, in an event on the node and a log line, naming both ranges.
// A node whose GPUs report the catalog's range, or none, gets neither.
func TestRegisterNarrowerCapRangeWarns(t *testing.T) {
	e := newEnv(t, DevFacility("local", "FR"), true)
	var logs syncBuffer
	e.s.log = slog.New(slog.NewTextHandler(&logs, nil))
	reg := func(name string, minW, maxW int) {
		t.Helper()
		r := api.Register{Name: name, Site: "local", Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256}
		for i := range 8 {
			r.GPUs = append(r.GPUs, api.GPUInfo{Index: i, Model: "H100", MinCapW: minW, MaxCapW: maxW})
		}
		if code := e.do("POST", "/v1/agent/register", r, nil); code != 200 {
			t.Fatalf("register %s: %d", name, code)
		}
	}
	reg("n1", 200, 700)
	reg("n2", 0, 0)
	reg("n3", 300, 650)
	var evs api.EventList
	if code := e.do("GET", "/v1/events", nil, &evs); code != 200 {
		t.Fatalf("events: %d", code)
	}
	var warned []string
	for _, ev := range evs.Events {
		if ev.Type == api.EventNode && strings.Contains(ev.Message, "power") {
			warned = append(warned, ev.Node+": "+ev.Message)
		}
	}
	if len(warned) != 1 || !strings.HasPrefix(warned[0], "n3: ") || !strings.Contains(warned[0], "300–650 W") || !strings.Contains(warned[0], "200–700 W") {
		t.Errorf("node events on power %q; want one, for n3, naming its 300–650 W and the catalog's 200–700 W", warned)
	}
	if l := string(logs.Bytes()); strings.Count(l, "power range") != 1 || !strings.Contains(l, "node=n3") {
		t.Errorf("log %q; want one line on n3's power range", l)
	}
}

// A server restarted with a hall's or a rack's power cap below the load
// of the work it runs there warns as it does of a site's envelope,
// naming the hall or rack, its cap and its load.
func TestRestartWithHallOrRackCapBelowLoadWarns(t *testing.T) {
	for _, level := range []string{"hall", "rack"} {
		t.Run(level, func(t *testing.T) {
			fac := func(kw float64) *model.Facility {
				f := listedFacility()
				if level == "hall" {
					f.Halls[0].PowerCapKW = kw
				} else {
					f.Racks[0].PowerCapKW = kw
				}
				return f
			}
			e := newEnv(t, fac(100), false)
			if code := e.register("a1", "a", 8); code != 200 {
				t.Fatal(code)
			}
			id := e.submit(spec(8, 1))
			e.pass()
			e.report("a1", running(id, 0, 1))
			e.s.store.Close()
			var logs lockedBuffer
			openEnv(t, e.dir, fac(1), false, e.clock, func(cfg *Config) {
				cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			name := map[string]string{"hall": "a-hall", "rack": "ra"}[level]
			if l := logs.String(); !strings.Contains(l, level+"="+name) || !strings.Contains(l, "cap_kw=1 ") {
				t.Errorf("logs %q; want a warning naming %s %s and its 1 kW cap", l, level, name)
			}
		})
	}
}

// A power limit beyond what the node's GPU model can be set to is no
// reading either: refused, naming the field, as telemetry beyond what a
// GPU can draw is, so that a buggy agent cannot make the scheduler
// count a site full.
func TestImpossibleReportedLimitRefused(t *testing.T) {
	e, _, b := refusedCapEnv(t)
	e.report("n2", withCap(running(b, 0, 1), 400))
	bad := withCap(running(b, 0, 1), 1000000)
	var p api.Problem
	code := e.do("POST", "/v1/agent/nodes/n2/heartbeat", api.Heartbeat{Tasks: []api.TaskStatus{bad}}, &p)
	if code != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "tasks[0].power_cap_w" || !strings.Contains(p.Errors[0].Message, "H100") {
		t.Errorf("heartbeat with power_cap_w 1000000: %d %+v; want 400 naming tasks[0].power_cap_w and the H100", code, p)
	}
	reg := api.Register{Name: "n2", Site: "local", Address: "http://127.0.0.1:1", CPUs: 32, MemoryGiB: 256, Tasks: []api.TaskStatus{bad}}
	for i := range 8 {
		reg.GPUs = append(reg.GPUs, api.GPUInfo{Index: i, Model: "H100"})
	}
	if code := e.do("POST", "/v1/agent/register", reg, &p); code != 400 {
		t.Errorf("registration with power_cap_w 1000000: %d; want 400", code)
	}
	if r := e.job(b).Replicas[0]; r.PowerLimitW != nil || r.State != api.ReplicaRunning {
		t.Errorf("b's replica %+v; want it running at its cap, nothing taken from the refused reports", r)
	}
}

// A task's error keeps every cap a GPU refused: once the limit it told
// of is set again, that error is old news, and a later lowering its
// agent has not applied yet (a report of the limit before it, with the
// same error) tells of no refusal.
func TestOldRefusalNotToldAgain(t *testing.T) {
	e, b, _ := lentAcrossNodes(t)
	refused := withCap(running(b, 0, 1), 0)
	refused.Error = "power cap: GPU 0: NVML: invalid argument"
	e.report("n2", refused) // the lowering to 400 W refused
	e.applyPlan(model.Plan{Recaps: []model.Recap{{Job: b, PowerCapW: 450}}})
	set := withCap(running(b, 0, 1), 450)
	set.Error = refused.Error
	e.report("n2", set) // the raise to 450 W taken: its GPUs at their cap again
	if evs := e.eventsOf(b, api.EventPowerLimit); len(evs) != 2 {
		t.Fatalf("b's power-limit events %q; want the refusal and the cap set again", evs)
	}
	e.applyPlan(model.Plan{Recaps: []model.Recap{{Job: b, PowerCapW: 400}}})
	e.report("n2", set) // 450 W still, the lowering not applied yet
	if evs := e.eventsOf(b, api.EventPowerLimit); len(evs) != 2 {
		t.Errorf("b's power-limit events %q; want no new one while the lowering is on its way", evs)
	}
}
