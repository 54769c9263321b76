package server

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// lentAcrossNodes sets up a start on power lent on another node: nodes
// n1 and n2 of 8 H100s in one site of 8.8 kW. Job a (8 GPUs, TDP) runs
// on n1, so b (8 GPUs) starts on n2 capped at 400 W; a ends and b's cap
// is lifted into the power a left. Job c (8 GPUs) then starts on n1 at
// TDP, on the power the same pass takes back from b, lowered to 400 W
// on n2. It returns b and c.
func lentAcrossNodes(t *testing.T) (e *env, b, c string) {
	t.Helper()
	return lentAcrossNodesTo(t, "default", spec(8, 1))
}

// lentAcrossNodesTo is lentAcrossNodes with job b of tenant bTenant and
// job c of spec cSpec.
func lentAcrossNodesTo(t *testing.T, bTenant string, cSpec map[string]any) (e *env, b, c string) {
	t.Helper()
	fac := DevFacility("local", "FR")
	fac.Sites[0].PowerEnvelopeKW = 8.8
	fac.Policy.PowerRecap = true
	if fac.Tenant(bTenant) == nil {
		fac.Tenants = append(fac.Tenants, model.Tenant{Name: bTenant, FairShareWeight: 1})
	}
	e = newEnv(t, fac, true)
	for _, n := range []string{"n1", "n2"} {
		if code := e.register(n, "local", 8); code != 200 {
			t.Fatalf("register %s: %d", n, code)
		}
	}
	a := e.submit(spec(8, 1))
	e.pass()
	b = e.submit(spec(8, 1, "tenant", bTenant))
	e.pass()
	ja, jb := e.job(a), e.job(b)
	if ja.Replicas[0].Node != "n1" || ja.Replicas[0].PowerCapW != 0 || jb.Replicas[0].Node != "n2" || jb.Replicas[0].PowerCapW != 400 {
		t.Fatalf("a %+v, b %+v; want a on n1 uncapped, b on n2 at 400 W", ja.Replicas, jb.Replicas)
	}
	e.report("n1", withCap(running(a, 0, 1), 0))
	e.report("n2", withCap(running(b, 0, 1), 400))
	e.report("n1", exited(a, 0, 1, 0))
	e.passFreed()
	if r := e.job(b).Replicas[0]; r.PowerCapW != 0 {
		t.Fatalf("b %+v after a's end; want its cap lifted", r)
	}
	e.report("n2", withCap(running(b, 0, 1), 0))
	c = e.submit(cSpec)
	e.pass()
	jb, jc := e.job(b), e.job(c)
	if jc.State != api.StateRunning || jc.Replicas[0].Node != "n1" || jb.Replicas[0].PowerCapW != 400 {
		t.Fatalf("c %s %+v, b %+v; want c started on n1 and b lowered to 400 W", jc.State, jc.Replicas, jb.Replicas)
	}
	return e, b, c
}

func withCap(st api.TaskStatus, w int) api.TaskStatus {
	st.PowerCapW = &w
	return st
}

func (e *env) listed(node, job string) bool {
	e.t.Helper()
	return slices.ContainsFunc(e.tasks(node), func(tk api.Task) bool { return tk.Job == job })
}

func (e *env) eventsOf(job, typ string) []string {
	e.t.Helper()
	var evs api.EventList
	if code := e.do("GET", "/v1/jobs/"+job+"/events", nil, &evs); code != 200 {
		e.t.Fatalf("events of %s: %d", job, code)
	}
	var out []string
	for _, ev := range evs.Events {
		if ev.Type == typ {
			out = append(out, ev.Message)
		}
	}
	return out
}

// A start on power taken back from a job on another node reaches its
// agent only once that job's agent reports the lower limit set: not
// while it reports the old one, at once when it reports the new one.
func TestStartWaitsForLoweringOnAnotherNode(t *testing.T) {
	e, b, c := lentAcrossNodes(t)
	if e.listed("n1", c) {
		t.Fatalf("n1's tasks list c before b's lower cap is set: %+v", e.tasks("n1"))
	}
	if tk := e.tasks("n2"); len(tk) != 1 || tk[0].PowerCapW != 400 {
		t.Fatalf("n2's tasks %+v; want b's at 400 W", tk)
	}
	if evs := e.eventsOf(c, api.EventPowerHold); len(evs) != 1 || !strings.Contains(evs[0], "job "+b+" on n2 to 400 W") {
		t.Fatalf("c's power-hold events %q; want one naming b on n2", evs)
	}
	e.report("n2", withCap(running(b, 0, 1), 0)) // not applied yet
	e.pass()
	if e.listed("n1", c) {
		t.Fatalf("n1's tasks list c while b's agent reports no lower limit")
	}
	v := e.version("n1")
	e.report("n2", withCap(running(b, 0, 1), 400))
	if !e.listed("n1", c) {
		t.Fatalf("n1's tasks %+v once b's limit is set; want c's", e.tasks("n1"))
	}
	if e.version("n1") == v {
		t.Errorf("n1's assignments version unchanged: its agent's long poll would not wake")
	}
	if evs := e.eventsOf(c, api.EventPowerHold); len(evs) != 2 || !strings.Contains(evs[1], "handed to their nodes") {
		t.Errorf("c's power-hold events %q; want the release second", evs)
	}
}

// The hold ends without a report of the new limit when it is no longer
// needed or cannot come: the lowered job ended, or its agent is too old
// to report limits (it never raised the cap, so the task draws at most
// the cap it started with).
func TestStartHoldEnds(t *testing.T) {
	for name, report := range map[string]func(e *env, b string){
		"lowered job ended": func(e *env, b string) { e.report("n2", exited(b, 0, 1, 0)) },
		"old agent":         func(e *env, b string) { e.report("n2", running(b, 0, 1)) },
	} {
		t.Run(name, func(t *testing.T) {
			e, b, c := lentAcrossNodes(t)
			report(e, b)
			if !e.listed("n1", c) {
				t.Fatalf("n1's tasks %+v; want c's", e.tasks("n1"))
			}
		})
	}
}

// A held start that is cancelled goes to its agent marked Stop, so the
// agent reports it ended without starting it and the job's GPUs free.
func TestHeldStartCancelled(t *testing.T) {
	e, _, c := lentAcrossNodes(t)
	if code := e.do("POST", "/v1/jobs/"+c+"/cancel", nil, nil); code != 202 {
		t.Fatalf("cancel: %d", code)
	}
	i := slices.IndexFunc(e.tasks("n1"), func(tk api.Task) bool { return tk.Job == c })
	if i < 0 || !e.tasks("n1")[i].Stop {
		t.Fatalf("n1's tasks %+v after the cancel; want c's marked stop", e.tasks("n1"))
	}
	e.report("n1", exited(c, 0, 1, 0))
	if j := e.job(c); j.State != api.StateCancelled {
		t.Errorf("c %s, want cancelled", j.State)
	}
}

// A lowered job's node that goes silent may run its replicas on at the
// raised limit, lost or not: the start stays held until that node's
// agent is heard from again, running none of them.
func TestHeldStartWaitsForSilentNode(t *testing.T) {
	e, b, c := lentAcrossNodes(t)
	e.clock.add(e.s.cfg.HeartbeatTimeout + time.Second)
	e.report("n1") // n1 keeps in touch; n2 is silent
	e.pass()
	if r := e.job(b).Replicas[0]; r.State != api.ReplicaLost {
		t.Fatalf("b's replica %+v once n2 is silent; want it lost", r)
	}
	if e.listed("n1", c) {
		t.Fatalf("n1's tasks list c while n2, silent, may still run b at the raised limit")
	}
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatalf("register n2 again: %d", code)
	}
	if !e.listed("n1", c) {
		t.Errorf("n1's tasks %+v once n2's agent reports it runs nothing; want c's", e.tasks("n1"))
	}
}

// The hold outlives the server: a restarted server (or a new leader)
// reads it from the job's document and keeps the start from its agent
// until the lowered job's agent reports the lower limit, as the server
// that made the start would have. The document shows the hold.
func TestHeldStartSurvivesRestart(t *testing.T) {
	e, b, c := lentAcrossNodes(t)
	j := e.job(c)
	if !j.Replicas[0].Held || len(j.PowerWaits) != 1 || j.PowerWaits[0] != (api.PowerWait{Job: b, Replica: 0, Node: "n2", PowerCapW: 400}) {
		t.Fatalf("c's replicas %+v, waits %+v; want replica 0 held for b on n2 at 400 W", j.Replicas, j.PowerWaits)
	}
	e = e.restart(true)
	if e.listed("n1", c) {
		t.Fatalf("after a restart n1's tasks list c before b's lower cap is set: %+v", e.tasks("n1"))
	}
	e.report("n2", withCap(running(b, 0, 1), 0))
	if e.listed("n1", c) {
		t.Fatalf("after a restart n1's tasks list c while b's agent reports no lower limit")
	}
	e.report("n2", withCap(running(b, 0, 1), 400))
	if !e.listed("n1", c) {
		t.Fatalf("n1's tasks %+v once b's limit is set; want c's", e.tasks("n1"))
	}
	if j := e.job(c); j.Replicas[0].Held || len(j.PowerWaits) != 0 {
		t.Errorf("c's replicas %+v, waits %+v once handed out; want no hold", j.Replicas, j.PowerWaits)
	}
	if j := e.restart(true).job(c); j.Replicas[0].Held || len(j.PowerWaits) != 0 {
		t.Errorf("c's replicas %+v, waits %+v after another restart; want no hold stored", j.Replicas, j.PowerWaits)
	}
}

// A held job's document and events, which its tenant reads, name no job
// of another tenant (docs/security.md, "Tenant scoping"); its own
// tenant's jobs they do name (TestHeldStartSurvivesRestart).
func TestHeldStartNamesNoOtherTenantsJob(t *testing.T) {
	e, b, c := lentAcrossNodesTo(t, "other", spec(8, 1))
	tok := tokenFor(t, e.s, "member", "default")
	var j api.Job
	code, body := e.doWith(withBearer(tok), "GET", "/v1/jobs/"+c, nil, &j)
	if code != 200 {
		t.Fatalf("get c as its tenant: %d %s", code, body)
	}
	if strings.Contains(string(body), b) || len(j.PowerWaits) != 1 || j.PowerWaits[0] != (api.PowerWait{Node: "n2", PowerCapW: 400}) {
		t.Errorf("c's document, read by its tenant, %s; want one wait on n2 at 400 W naming no job of tenant other (%s)", body, b)
	}
	code, body = e.doWith(withBearer(tok), "GET", "/v1/jobs/"+c+"/events", nil, nil)
	if code != 200 || strings.Contains(string(body), b) || !strings.Contains(string(body), "a job of another tenant on n2 to 400 W") {
		t.Errorf("c's events, read by its tenant: %d %s; want the hold naming a job of another tenant, not %s", code, body, b)
	}
}

// A held start's runtime limit counts from when its replicas reach their
// nodes: a hold longer than the limit (here b's GPUs never take the
// lower limit, so c waits for b's end) does not hand c out past its
// deadline, which its agent would refuse, failing c without running it.
// Its GPU time counts from the start that holds the GPUs.
func TestHeldStartRuntimeLimitCountsFromHandOut(t *testing.T) {
	e, b, c := lentAcrossNodesTo(t, "default", spec(8, 1, "runtime_limit", 60))
	assigned := e.clock.now()
	for range 24 { // two minutes
		e.clock.add(5 * time.Second)
		e.report("n1")
		e.report("n2", withCap(running(b, 0, 1), 0))
		e.pass()
	}
	e.report("n2", exited(b, 0, 1, 0))
	now := e.clock.now()
	i := slices.IndexFunc(e.tasks("n1"), func(tk api.Task) bool { return tk.Job == c })
	if i < 0 {
		t.Fatalf("c not handed out once b ended: %+v", e.tasks("n1"))
	}
	if tk := e.tasks("n1")[i]; tk.Deadline == nil || !tk.Deadline.Equal(now.Add(time.Minute)) {
		t.Errorf("c handed out at %s with deadline %v; want a minute later", now.Format(time.TimeOnly), tk.Deadline)
	}
	if j := e.job(c); j.StartTime == nil || !j.StartTime.Equal(now) {
		t.Errorf("c's start %v; want when it was handed out, %s", j.StartTime, now.Format(time.TimeOnly))
	}
	e.report("n1", running(c, 0, 1))
	e.clock.add(time.Minute)
	e.report("n1", exited(c, 0, 1, 0))
	if j, want := e.job(c), 8*now.Add(time.Minute).Sub(assigned).Seconds(); j.State != api.StateSucceeded || j.Usage.GPUSeconds != want {
		t.Errorf("c %s with %v GPU-seconds; want succeeded with %v (from its assignment)", j.State, j.Usage.GPUSeconds, want)
	}
}

// A stored hold ends across a restart as it would have without one: the
// held job cancelled before it goes out marked Stop and ends with no hold
// left; the lowered job ending, or its agent registering again without
// it, hands the held replicas out.
func TestHeldStartEndsAfterRestart(t *testing.T) {
	t.Run("cancelled", func(t *testing.T) {
		e, _, c := lentAcrossNodes(t)
		if code := e.do("POST", "/v1/jobs/"+c+"/cancel", nil, nil); code != 202 {
			t.Fatalf("cancel: %d", code)
		}
		e = e.restart(true)
		i := slices.IndexFunc(e.tasks("n1"), func(tk api.Task) bool { return tk.Job == c })
		if i < 0 || !e.tasks("n1")[i].Stop {
			t.Fatalf("after a restart n1's tasks %+v; want c's marked stop", e.tasks("n1"))
		}
		e.report("n1", exited(c, 0, 1, 0))
		if j := e.job(c); j.State != api.StateCancelled || len(j.PowerWaits) > 0 || j.Replicas[0].Held {
			t.Errorf("c %s, waits %+v, replicas %+v; want cancelled, no hold", j.State, j.PowerWaits, j.Replicas)
		}
	})
	for name, end := range map[string]func(e *env, b string){
		"lowered job ended":     func(e *env, b string) { e.report("n2", exited(b, 0, 1, 0)) },
		"lowered agent renewed": func(e *env, b string) { e.register("n2", "local", 8) },
	} {
		t.Run(name, func(t *testing.T) {
			e, b, c := lentAcrossNodes(t)
			e = e.restart(true)
			end(e, b)
			if !e.listed("n1", c) {
				t.Fatalf("n1's tasks %+v; want c's", e.tasks("n1"))
			}
			if evs := e.eventsOf(c, api.EventPowerHold); len(evs) != 2 {
				t.Errorf("c's power-hold events %q; want the hold and its end", evs)
			}
			if j := e.job(c); len(j.PowerWaits) > 0 || j.Replicas[0].Held {
				t.Errorf("c's waits %+v, replicas %+v; want no hold", j.PowerWaits, j.Replicas)
			}
		})
	}
}

// A later recap that raises the lowered job again, to a cap still
// below the limit its agent has in force, does not end the hold: the
// replica counts at that limit until its agent reports one at or below
// its cap. (The core sees such a replica at the limit in force, so it
// raises it only above that; a plan applied as is shows the server's
// part.)
func TestHeldStartWaitsWhenRaisedBelowLimitInForce(t *testing.T) {
	e, b, c := lentAcrossNodes(t)
	e.applyPlan(model.Plan{Recaps: []model.Recap{{Job: b, PowerCapW: 450}}})
	if r := e.job(b).Replicas[0]; r.PowerCapW != 450 || r.PowerLimitW == nil || *r.PowerLimitW != 0 {
		t.Fatalf("b %+v; want it raised to 450 W, its GPUs still at their own limit", r)
	}
	e.report("n2", withCap(running(b, 0, 1), 0)) // still at its GPUs' own 700 W
	e.pass()
	if e.listed("n1", c) {
		t.Fatalf("n1's tasks list c while b's agent reports its GPUs at 700 W, above the 450 W the raise counted on")
	}
	e.report("n2", withCap(running(b, 0, 1), 450))
	if !e.listed("n1", c) {
		t.Fatalf("n1's tasks %+v once b's limit is 450 W; want c's", e.tasks("n1"))
	}
}

// applyPlan commits plan p as a pass would after its checks.
func (e *env) applyPlan(p model.Plan) {
	e.t.Helper()
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	c := newChanges()
	e.s.apply(&p, e.clock.now(), c)
	if err := e.s.commit(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
}

// A deployment's new replica on power taken back from the same
// deployment's replica on another node waits for that lowering too.
func TestDeploymentReplacementWaitsForItsOwnLowering(t *testing.T) {
	fac := DevFacility("local", "FR")
	fac.Sites[0].PowerEnvelopeKW = 8.8
	fac.Policy.PowerRecap = true
	e := newEnv(t, fac, true)
	for _, n := range []string{"n1", "n2"} {
		if code := e.register(n, "local", 8); code != 200 {
			t.Fatalf("register %s: %d", n, code)
		}
	}
	var d api.Job
	if code := e.do("POST", "/v1/deployments", spec(8, 2), &d); code != 201 {
		t.Fatalf("submit deployment: %d", code)
	}
	e.pass()
	j := e.job(d.ID)
	if len(j.Replicas) != 2 || j.Replicas[0].Node == j.Replicas[1].Node || j.Replicas[0].PowerCapW == 0 {
		t.Fatalf("deployment %+v; want two capped replicas on two nodes", j.Replicas)
	}
	capW := j.Replicas[0].PowerCapW
	n0, n1 := j.Replicas[0].Node, j.Replicas[1].Node
	e.report(n0, withCap(running(d.ID, 0, 1), capW))
	e.report(n1, withCap(running(d.ID, 1, 1), capW))
	// Replica 1 ends; replica 0 is raised into the power it left, and
	// its agent sets the raised limit.
	e.report(n1, exited(d.ID, 1, 1, 1))
	e.applyPlan(model.Plan{Recaps: []model.Recap{{Job: d.ID, PowerCapW: 700}}})
	if r := e.job(d.ID).Replicas[0]; r.PowerCapW != 700 {
		t.Fatalf("replica 0 %+v; want it raised to 700 W", r)
	}
	e.report(n0, withCap(running(d.ID, 0, 1), 700))
	// Its replacement on n1 takes that power back.
	gpus := []int{0, 1, 2, 3, 4, 5, 6, 7}
	e.applyPlan(model.Plan{
		Starts: []model.Start{{Job: d.ID, Replicas: []model.Placement{{Node: n1, GPUs: gpus, PowerCapW: capW}}}},
		Recaps: []model.Recap{{Job: d.ID, PowerCapW: capW}},
	})
	if r := e.job(d.ID).Replicas; len(r) != 3 || r[0].PowerCapW != capW || r[2].Node != n1 {
		t.Fatalf("replicas %+v; want replica 0 lowered to %d W and a third on %s", r, capW, n1)
	}
	if e.listed(n1, d.ID) {
		t.Fatalf("%s's tasks list the new replica while replica 0's agent on %s reports 700 W", n1, n0)
	}
	e.report(n0, withCap(running(d.ID, 0, 1), capW))
	if !e.listed(n1, d.ID) {
		t.Fatalf("%s's tasks %+v once replica 0's limit is set; want the new replica", n1, e.tasks(n1))
	}
}

// A held start that stops before the lowering it waits for is done
// leaves no power the lowered job's GPUs may still draw (slow, or a GPU
// that refused the lower limit) to the next start: the lowered replica
// counts at the limit it had until its agent reports the lower one, so
// the next job on n1 starts capped to what b leaves, and goes out.
func TestLoweringOutlivesCancelledHeldStart(t *testing.T) {
	e, b, c := lentAcrossNodes(t)
	e.report("n2", withCap(running(b, 0, 1), 0)) // its GPUs keep 700 W
	if code := e.do("POST", "/v1/jobs/"+c+"/cancel", nil, nil); code != 202 {
		t.Fatalf("cancel: %d", code)
	}
	e.report("n1", exited(c, 0, 1, 0))
	d := e.submit(spec(8, 1))
	e.pass()
	if j := e.job(d); j.State != api.StateRunning || j.Replicas[0].Node != "n1" || j.Replicas[0].PowerCapW != 400 || j.Replicas[0].Held {
		t.Fatalf("d %s %+v; want it started on n1 at 400 W, the power b's 700 W leaves, not held", j.State, j.Replicas)
	}
	if !e.listed("n1", d) {
		t.Fatalf("n1's tasks %+v; want d's, which counts on no power b may draw", e.tasks("n1"))
	}
}
