package server

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// A heartbeat its agent built before a raise and the server receives
// only after the lowering that takes the raise back (a slow request)
// reports the limit the GPUs had before the raise: the lowered cap,
// though they now run at the raised limit. So does a heartbeat of an
// agent too old to say which assignments it had applied, for all the
// server knows. Neither ends the lowering: the start held for it stays
// held and the lowered replica counts at the limit it had, until a
// report built once its agent applied the lowering.
func TestStaleReportEndsNoLowering(t *testing.T) {
	for name, versionOf := range map[string]func(stale int64) *int64{
		"built before the raise": func(stale int64) *int64 { return &stale },
		"older agent":            func(int64) *int64 { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			fac := DevFacility("local", "FR")
			fac.Sites[0].PowerEnvelopeKW = 8.8
			fac.Policy.PowerRecap = true
			e := newEnv(t, fac, true)
			for _, n := range []string{"n1", "n2"} {
				if code := e.register(n, "local", 8); code != 200 {
					t.Fatalf("register %s: %d", n, code)
				}
			}
			a := e.submit(spec(8, 1))
			e.pass()
			b := e.submit(spec(8, 1))
			e.pass()
			if r := e.job(b).Replicas[0]; r.Node != "n2" || r.PowerCapW != 400 {
				t.Fatalf("b %+v; want it on n2 at 400 W", r)
			}
			e.report("n1", withCap(running(a, 0, 1), 0))
			e.report("n2", withCap(running(b, 0, 1), 400))
			stale := e.version("n2") // n2's agent runs b at 400 W
			e.report("n1", exited(a, 0, 1, 0))
			e.passFreed()
			if r := e.job(b).Replicas[0]; r.PowerCapW != 0 {
				t.Fatalf("b %+v after a's end; want its cap lifted", r)
			}
			e.report("n2", withCap(running(b, 0, 1), 0)) // lifted: 700 W
			c := e.submit(spec(8, 1))
			e.pass()
			if r := e.job(b).Replicas[0]; r.PowerCapW != 400 || !e.job(c).Replicas[0].Held {
				t.Fatalf("b %+v, c %+v; want b lowered to 400 W and c held for it", r, e.job(c).Replicas)
			}
			// the heartbeat built while b ran at 400 W arrives now
			e.reportAt("n2", versionOf(stale), withCap(running(b, 0, 1), 400))
			if e.listed("n1", c) {
				t.Fatalf("n1's tasks list c on a report of b's 400 W built before its cap was lifted: b's GPUs may run at 700 W")
			}
			if r := e.job(b).Replicas[0]; r.PowerLimitW == nil || *r.PowerLimitW != 0 {
				t.Fatalf("b %+v; want it counted at its GPUs' own limit until its agent reports the lower one", r)
			}
			e.pass()
			e.s.mu.Lock()
			snap := e.s.snapshot(e.clock.now())
			e.s.mu.Unlock()
			for _, al := range snap.Running {
				if al.Job.ID == b && al.Replicas[0].PowerCapW != 0 {
					t.Fatalf("the core counts b at %d W; want its GPUs' own limit", al.Replicas[0].PowerCapW)
				}
			}
			if versionOf(stale) == nil {
				return // an older agent's reports never end it
			}
			e.report("n2", withCap(running(b, 0, 1), 400)) // built once the lowering was applied
			if !e.listed("n1", c) {
				t.Fatalf("n1's tasks %+v once b's agent reports the lowering applied; want c's", e.tasks("n1"))
			}
		})
	}
}

// A heartbeat its agent built before it started the replicas of a node
// that then went silent, delivered only now, reports none of them
// running: it says nothing of whether they stopped, and the node stays
// unreachable, at nameplate, until a heartbeat built once its agent
// applied assignments without them (it stops what is not assigned) or
// an operator fences it. So does a heartbeat of an agent too old to say
// which assignments it had applied.
func TestStaleReportEndsNoUnreachable(t *testing.T) {
	for name, versionOf := range map[string]func(stale int64) *int64{
		"built before the start": func(stale int64) *int64 { return &stale },
		"older agent":            func(int64) *int64 { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			e := devEnv(t)
			stale := e.version("n1") // n1's agent runs nothing
			silentWithWork(t, e)
			e.reportAt("n1", versionOf(stale))
			nameplate, _ := e.nodePowerW("n1")
			if c, w := e.condition("n1"), e.sitePowerW("local"); c != model.NodeUnreachable || w != nameplate {
				t.Fatalf("n1 on a heartbeat built before its replica started: %s at %v W, want unreachable at %v W", c, w, nameplate)
			}
			if versionOf(stale) == nil {
				return
			}
			e.report("n1") // built once it applied its assignments since
			if c := e.condition("n1"); c == model.NodeUnreachable {
				t.Fatalf("n1 still unreachable once its agent reports running nothing it lost")
			}
		})
	}
}
