package sched_test

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

// With backfill off, a job whose allowed sites have no node of its model
// gets the capacity reason that says so, as it does alone; before, the
// pools another job held made it "priority: waiting behind job  (backfill
// is off)", naming no job.
func TestStrictReasonWithoutPoolsNamesNoBlocker(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100
site fra country=DE jur=EU,DE envelope_kw=100
nodes h1 site=par
nodes a1 site=fra model=A100
tenant acme
policy all=off backfill=off
running r1 tenant=acme on=h1:0-7 limit=2h
job first tenant=acme gpus=8 models=H100 limit=1h
job de tenant=acme gpus=8 models=H100 jur=DE limit=1h
`)
	if steps[0].verr != nil {
		t.Fatalf("verify: %v", steps[0].verr)
	}
	pe := pendingOf(steps[0].plan, "de")
	if pe == nil || pe.Code != "capacity" || !strings.Contains(pe.Message, "({DE}) can hold 0 such replica(s)") {
		t.Errorf("de: %+v; want the capacity reason that its sites hold no H100", pe)
	}
}

// A job that accepts several GPU models gets the reservation when its
// first model can never hold it but another frees up (EASY: the first
// job blocked by capacity reserves); before, it got none and the next
// job took the reservation of the room it waits for.
func TestReservationTriesEveryModel(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100
nodes a1 site=par model=A100 gpus=4
nodes h1 site=par
tenant acme
policy all=off backfill=on
running r1 tenant=acme on=h1:0-7 limit=2h started=-1h
job big tenant=acme gpus=8 models=A100,H100 limit=1h
job big2 tenant=acme gpus=8 models=H100 limit=1h
`)
	p := steps[0].plan
	if steps[0].verr != nil {
		t.Fatalf("verify: %v", steps[0].verr)
	}
	if len(p.Reservations) != 1 || p.Reservations[0].Job != "big" {
		t.Errorf("reservations %+v; want big's, the first job blocked by capacity", p.Reservations)
	}
	if pe := pendingOf(p, "big"); pe == nil || pe.EstStart == 0 || !strings.Contains(pe.Message, "reserved 1 node(s)") {
		t.Errorf("big: %+v; want an estimate and its reservation", pe)
	}
}

// A deployment whose minimum is above its count (the loader refuses it;
// a driver may not) is invalid, not planned below what plan.Verify
// holds it to.
func TestDeploymentMinAboveCountInvalid(t *testing.T) {
	f := deployBase(1)
	d := makeJob("d", "a").Deployment(2, 3, 4).Class("low", true).Obj()
	snap := &model.Snapshot{Facility: f, Pending: []*model.Job{d}}
	p := sched.Schedule(snap, t0)
	if err := plan.Verify(snap, &p); err != nil {
		t.Errorf("verify: %v", err)
	}
	if pe := pendingOf(p, "d"); pe == nil || pe.Code != model.ReasonInvalid || !strings.Contains(pe.Message, "min_replicas 3 above replicas 2") {
		t.Errorf("d: %+v; want invalid", pe)
	}
}
