package sched_test

import (
	"strings"
	"testing"
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
