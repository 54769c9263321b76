package sched_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// recapWorld builds a world from DSL lines (see scenario_dsl_test.go).
func recapWorld(t *testing.T, lines ...string) *world {
	t.Helper()
	w := newWorld()
	for _, l := range lines {
		if err := w.do(strings.Fields(l)); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
	return w
}

// recapPlan schedules w with Schedule and with Quick on a fresh Queue,
// which must agree on the recaps, and checks the plan with plan.Verify.
func recapPlan(t *testing.T, w *world) (*model.Snapshot, model.Plan) {
	t.Helper()
	snap := w.snapshot()
	p := sched.Schedule(snap, w.clock)
	q := sched.NewQueue(snap.Facility, snap.Pending)
	qp, _ := sched.Quick(snap, q, w.clock, 0)
	if got, want := recapsText(qp.Recaps), recapsText(p.Recaps); got != want {
		t.Errorf("Quick recaps %s, Schedule %s", got, want)
	}
	if err := plan.Verify(snap, &p); err != nil {
		t.Errorf("plan.Verify: %v", err)
	}
	w.last, w.lastSnap = &p, snap
	return snap, p
}

func recapsText(rs []model.Recap) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Job + "@" + strconv.Itoa(r.PowerCapW) + " ")
	}
	return b.String()
}

// sitePowerW is site id's IT load once w's last plan is applied.
func sitePowerW(t *testing.T, w *world, site string) float64 {
	t.Helper()
	if err := w.apply(nil); err != nil {
		t.Fatal(err)
	}
	return plan.SitePowerW(w.snapshot(), nil)[site]
}

func TestRecapLiftsTheCapWhenThereIsRoom(t *testing.T) {
	w := recapWorld(t,
		"site par country=FR jur=EU,FR envelope_kw=40",
		"nodes n[1-3] site=par",
		"tenant acme",
		"policy all=off power=on capping=on recap=on",
		"running a tenant=acme on=n1:0-7@400 limit=4h",
	)
	_, p := recapPlan(t, w)
	if got := recapsText(p.Recaps); got != "a@0 " {
		t.Fatalf("recaps %q, want a lifted (a@0)", got)
	}
	if p.Recaps[0].PowerW != 8*(700-400) {
		t.Errorf("PowerW %.0f, want %d", p.Recaps[0].PowerW, 8*(700-400))
	}
	if err := w.apply(nil); err != nil {
		t.Fatal(err)
	}
	if w.running[0].Replicas[0].PowerCapW != 0 {
		t.Error("the DSL's apply did not lift the cap")
	}
}

func TestRecapRaisesAsFarAsTheEnvelopeAllows(t *testing.T) {
	w := recapWorld(t,
		"site par country=FR jur=EU,FR envelope_kw=13",
		"nodes n[1-3] site=par",
		"tenant acme",
		"policy all=off power=on capping=on recap=on",
		"running a tenant=acme on=n1:0-7 limit=4h",
		"running b tenant=acme on=n2:0-7@300 limit=4h",
	)
	_, p := recapPlan(t, w)
	if len(p.Recaps) != 1 || p.Recaps[0].Job != "b" {
		t.Fatalf("recaps %q, want one of b", recapsText(p.Recaps))
	}
	c := p.Recaps[0].PowerCapW
	if c <= 300 || c >= 700 {
		t.Fatalf("b raised to %d W, want between 300 and 700", c)
	}
	load := sitePowerW(t, w, "par")
	if load > 13000 {
		t.Errorf("site load %.1f W over the 13 kW envelope", load)
	}
	if 13000-load >= 8 { // a watt more per GPU would have fitted
		t.Errorf("site load %.1f W leaves %.1f W unused below the envelope", load, 15000-load)
	}
}

func TestRecapComesAfterStarts(t *testing.T) {
	// 13 kW: c's start at TDP comes first; b's recap gets only what is left.
	base := []string{
		"site par country=FR jur=EU,FR envelope_kw=13",
		"nodes n[1-3] site=par",
		"tenant acme",
		"policy all=off power=on capping=on recap=on",
		"running b tenant=acme on=n2:0-7@300 limit=4h",
	}
	w := recapWorld(t, append(base, "job c tenant=acme gpus=8 limit=4h")...)
	_, p := recapPlan(t, w)
	if len(p.Starts) != 1 || p.Starts[0].Job != "c" {
		t.Fatalf("starts %+v, want c", p.Starts)
	}
	alone := recapWorld(t, base...)
	_, pa := recapPlan(t, alone)
	if len(pa.Recaps) != 1 || pa.Recaps[0].PowerCapW != 0 {
		t.Fatalf("without c, recaps %q, want b lifted", recapsText(pa.Recaps))
	}
	if got := recapsText(p.Recaps); got == recapsText(pa.Recaps) {
		t.Errorf("with c starting, b still lifted (%q): the recap took power before the start", got)
	}
	if load := sitePowerW(t, w, "par"); load > 13000 {
		t.Errorf("site load %.1f W over the 13 kW envelope", load)
	}
}

func TestRecapStopsAtTheShare(t *testing.T) {
	// power_share: each GPU's share of 15 kW over 24 H100 is 525 W.
	w := recapWorld(t,
		"site par country=FR jur=EU,FR envelope_kw=15",
		"nodes n[1-3] site=par",
		"tenant acme",
		"policy all=off power=on capping=on share=on recap=on",
		"running a tenant=acme on=n1:0-7@400 limit=4h",
	)
	_, p := recapPlan(t, w)
	if got := recapsText(p.Recaps); got != "a@525 " {
		t.Errorf("recaps %q, want a raised to its share (a@525)", got)
	}
}

func TestRecapLeavesAlone(t *testing.T) {
	base := []string{
		"site par country=FR jur=EU,FR envelope_kw=40",
		"nodes n[1-3] site=par",
		"tenant acme",
	}
	for _, tc := range []struct {
		name  string
		lines []string
	}{
		{"policy off", []string{"policy all=off power=on capping=on recap=off", "running a tenant=acme on=n1:0-7@400 limit=4h"}},
		{"capping off", []string{"policy all=off power=on", "running a tenant=acme on=n1:0-7@400 limit=4h"}},
		{"terminating", []string{"policy all=off power=on capping=on recap=on",
			"running a tenant=acme on=n1:0-7@400 limit=4h terminating=yes evict=+5m"}},
		{"draining node", []string{"policy all=off power=on capping=on recap=on",
			"running a tenant=acme on=n1:0-7@400 limit=4h", "drain n1"}},
		{"a replica already at TDP", []string{"policy all=off power=on capping=on recap=on",
			"running a tenant=acme on=n1:0-7@400 on=n2:0-7 limit=4h"}},
		{"capped at TDP", []string{"policy all=off power=on capping=on recap=on",
			"running a tenant=acme on=n1:0-7@700 limit=4h"}},
		{"lifted from a cap at TDP, preempted", []string{"policy all=off power=on capping=on recap=on preemption=on",
			"class high value=100 preemptible=no", "class low value=10 preemptible=yes",
			"running a tenant=acme class=low on=n1:0-7@0/700 on=n2:0-7@0/700 on=n3:0-7@0/700 limit=4h",
			"job h tenant=acme class=high gpus=8 limit=1h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := recapWorld(t, append(slicesClone(base), tc.lines...)...)
			if _, p := recapPlan(t, w); len(p.Recaps) != 0 {
				t.Errorf("recaps %q, want none", recapsText(p.Recaps))
			}
		})
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func TestRecapSkipsASmallStep(t *testing.T) {
	// Room for 20 W more on each of b's GPUs: less than 5 % of TDP (35 W).
	lines := func(kw float64) []string {
		return []string{
			fmt.Sprintf("site par country=FR jur=EU,FR envelope_kw=%g", kw),
			"nodes n[1-3] site=par",
			"tenant acme",
			"policy all=off power=on capping=on recap=on",
			"running a tenant=acme on=n1:0-7 limit=4h",
			"running b tenant=acme on=n2:0-7@500 limit=4h",
		}
	}
	now := plan.SitePowerW(recapWorld(t, lines(100)...).snapshot(), nil)["par"]
	for _, tc := range []struct {
		room float64
		want string
	}{{8 * 20, ""}, {8 * 40, "b@540 "}} {
		w := recapWorld(t, lines((now+tc.room)/1000)...)
		if _, p := recapPlan(t, w); recapsText(p.Recaps) != tc.want {
			t.Errorf("room %.0f W: recaps %q, want %q", tc.room, recapsText(p.Recaps), tc.want)
		}
	}
}

func TestRecapWaitsWhileWorkWaits(t *testing.T) {
	// big, a gang of two 8-GPU replicas, waits for a to end at +1h: no
	// cap is raised while it waits, since a raised cap is not lowered
	// again.
	lines := func(recap string, big bool) []string {
		l := []string{
			"site par country=FR jur=EU,FR envelope_kw=13",
			"nodes n[1-3] site=par",
			"tenant acme",
			"policy all=off power=on capping=on backfill=on recap=" + recap,
			"running a tenant=acme on=n1:0-7 limit=2h started=-1h",
			"running b tenant=acme on=n2:0-7@300 limit=8h",
		}
		if big {
			l = append(l, "job big tenant=acme replicas=2 gpus=8 limit=4h")
		}
		return l
	}
	_, off := recapPlan(t, recapWorld(t, lines("off", true)...))
	_, on := recapPlan(t, recapWorld(t, lines("on", true)...))
	_, alone := recapPlan(t, recapWorld(t, lines("on", false)...))
	if len(off.Pending) != 1 || off.Pending[0].EstStart == 0 {
		t.Fatalf("big should wait with an estimated start: %+v", off.Pending)
	}
	if len(on.Pending) != 1 || on.Pending[0].EstStart != off.Pending[0].EstStart {
		t.Errorf("with recaps big waits %+v, without %+v", on.Pending, off.Pending)
	}
	if len(alone.Recaps) != 1 || alone.Recaps[0].PowerCapW <= 300 {
		t.Fatalf("without big, recaps %q, want b raised", recapsText(alone.Recaps))
	}
	if len(on.Recaps) != 0 {
		t.Errorf("b raised (%q) while big waits", recapsText(on.Recaps))
	}
}

func TestLentPowerIsTakenBackForAStart(t *testing.T) {
	// b runs lifted to TDP on power lent over its own 300 W; c needs it.
	w := recapWorld(t,
		"site par country=FR jur=EU,FR envelope_kw=13",
		"nodes n[1-3] site=par",
		"tenant acme",
		"policy all=off power=on capping=on recap=on",
		"running b tenant=acme on=n2:0-7@0/300 limit=4h",
		"job c tenant=acme gpus=8 limit=4h",
	)
	_, p := recapPlan(t, w)
	if len(p.Starts) != 1 || p.Starts[0].Job != "c" || p.Starts[0].Replicas[0].PowerCapW != 0 {
		t.Fatalf("starts %+v, want c at TDP on b's lent power", p.Starts)
	}
	if len(p.Recaps) != 1 || p.Recaps[0].Job != "b" {
		t.Fatalf("recaps %q, want b lowered", recapsText(p.Recaps))
	}
	if c := p.Recaps[0].PowerCapW; c < 300 || c >= 700 || c == 0 {
		t.Errorf("b recapped to %d W, want lowered to between its own 300 W and 700 W", c)
	}
	if p.Recaps[0].PowerW >= 0 {
		t.Errorf("lowering b adds %.0f W, want a negative figure", p.Recaps[0].PowerW)
	}
	if load := sitePowerW(t, w, "par"); load > 13000 {
		t.Errorf("site load %.1f W over the 13 kW envelope", load)
	}
	// Once applied, nothing changes at the next pass: no trading of watts.
	if _, p := recapPlan(t, w); len(p.Recaps) != 0 || len(p.Starts) != 0 {
		t.Errorf("the pass after: starts %+v, recaps %q, want none", p.Starts, recapsText(p.Recaps))
	}
}

func TestLentPowerStaysWhileNoStartNeedsIt(t *testing.T) {
	// c waits for GPUs, not power: b keeps its loan.
	w := recapWorld(t,
		"site par country=FR jur=EU,FR envelope_kw=40",
		"nodes n[1-2] site=par",
		"tenant acme",
		"policy all=off power=on capping=on recap=on",
		"running a tenant=acme on=n1:0-7 limit=4h",
		"running b tenant=acme on=n2:0-7@0/300 limit=4h",
		"job c tenant=acme gpus=8 limit=4h",
	)
	if _, p := recapPlan(t, w); len(p.Recaps) != 0 || len(p.Starts) != 0 {
		t.Errorf("starts %+v, recaps %q, want none", p.Starts, recapsText(p.Recaps))
	}
}

func TestPreemptedJobGivesItsLoanBack(t *testing.T) {
	w := recapWorld(t,
		"site par country=FR jur=EU,FR envelope_kw=40",
		"nodes n1 site=par",
		"tenant acme",
		"class high value=100 preemptible=no",
		"class low value=10 preemptible=yes",
		"policy all=off power=on capping=on recap=on preemption=on",
		"running b tenant=acme class=low on=n1:0-7@0/300 limit=4h grace=5m",
		"job h tenant=acme class=high gpus=8 limit=1h",
	)
	_, p := recapPlan(t, w)
	if len(p.Preemptions) != 1 || p.Preemptions[0].Victim != "b" {
		t.Fatalf("preemptions %+v, want b", p.Preemptions)
	}
	if got := recapsText(p.Recaps); got != "b@300 " {
		t.Errorf("recaps %q, want b back at its own cap (b@300)", got)
	}
}
