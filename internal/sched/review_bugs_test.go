package sched_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// A deployment's quota check covers only its missing minimum, but the core
// then starts every replica that fits: the tenant ends far above quota.
func TestReviewDeploymentExceedsQuota(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n[1-4] site=par
tenant acme quota=H100:8
policy all=off quotas=on
deployment d1 tenant=acme replicas=4 min=1 gpus=8
`)
	s := steps[0]
	if st := started(s.plan, "d1"); st != nil && startedGPUs(st) > 8 {
		t.Errorf("tenant acme (nominal 8, no cohort) gets %d GPUs; plan.Verify says %v\n%s", startedGPUs(st), s.verr, s.text)
	}
}

// The fair-share heap re-inserts a tenant before its job is accounted, so
// the tenant that just started a job is still at the root with its old
// share and gets its next job too.
func TestReviewFairShareStaleHeap(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n[1-2] site=par
tenant acme
tenant beta
policy all=off fairshare=on halflife=7d backfill=on
usage beta gpu_hours=168
job a1 tenant=acme gpus=8
job a2 tenant=acme gpus=8
job b1 tenant=beta gpus=8
`)
	// acme 0 → a1 (acme now 8 GPUs); beta (≈1) < acme (8) → b1; a2 waits.
	s := steps[0]
	if started(s.plan, "b1") == nil {
		t.Errorf("beta (share ≈1 GPU) should go before acme's second job (acme share 8 after a1):\n%s", s.text)
	}
}

// Priority preemption ignores quota: a high-priority job of a tenant at its
// nominal quota evicts a low-priority job of a tenant that is within its
// own nominal quota, and then borrows that quota. In Kueue a ClusterQueue
// within its nominal quota is never a victim of another queue.
func TestReviewPriorityPreemptionTakesNominalOfOthers(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n[1-3] site=par
cohort c1
tenant acme cohort=c1 quota=H100:8
tenant beta cohort=c1 quota=H100:8
class high value=100 preemptible=no
class low value=10 preemptible=yes
policy all=off quotas=on preemption=on reclaim=on
running a0 tenant=acme class=high on=n1:0-7 started=-1h
running b0 tenant=beta class=low on=n2:0-7 started=-1h
job a1 tenant=acme class=high gpus=8
`)
	s := steps[0]
	for _, pr := range s.plan.Preemptions {
		if pr.Victim == "b0" {
			t.Errorf("b0's tenant beta uses 8/8 (within nominal) but is preempted so that acme can borrow:\n%s", s.text)
		}
	}
}

// Reclaim keeps evicting a borrower's jobs after the borrower is back
// within its nominal quota (Kueue re-checks that each candidate's queue is
// still borrowing).
func TestReviewReclaimPushesBorrowerBelowNominal(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n[1-2] site=par
cohort c1
tenant acme cohort=c1 quota=H100:8
tenant beta cohort=c1 quota=H100:8
tenant gamma cohort=c1 quota=H100:0
class normal value=50 preemptible=yes
class fixed value=50 preemptible=no
policy all=off quotas=on preemption=on reclaim=on
running b1 tenant=beta class=normal on=n1:0-3 started=-3h checkpoint=-20m
running b2 tenant=beta class=normal on=n1:4-7 started=-3h checkpoint=-30m
running b3 tenant=beta class=normal on=n2:0-3 started=-3h checkpoint=-10m
running g1 tenant=gamma class=fixed on=n2:4-7 started=-3h
job a1 tenant=acme class=normal gpus=8
`)
	s := steps[0]
	evicted := 0
	for _, pr := range s.plan.Preemptions {
		if pr.Victim == "b1" || pr.Victim == "b2" || pr.Victim == "b3" {
			evicted += 4
		}
	}
	if 12-evicted < 8 {
		t.Errorf("beta borrows 4 over its nominal 8 but reclaim evicts %d GPUs, leaving it at %d/8:\n%s", evicted, 12-evicted, s.text)
	}
}

// fitsWithout checks only the per-node power headroom filter, not the
// gang's total power, so the core preempts for a gang that the power
// envelope then still keeps from starting.
func TestReviewPreemptsForPowerBlockedGang(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=10
nodes n[1-2] site=par
tenant acme
class high value=100 preemptible=no
class low value=10 preemptible=yes
policy all=off preemption=on power=on capping=off
running v tenant=acme class=low on=n1:0-7 started=-1h grace=1m
job g tenant=acme class=high replicas=2 gpus=8
schedule
apply
advance 1m
evict
schedule
`)
	if len(steps[0].plan.Preemptions) == 0 {
		return
	}
	if started(steps[1].plan, "g") == nil {
		t.Errorf("v was preempted for g, but g still does not start after the eviction:\n%s\n---\n%s", steps[0].text, steps[1].text)
	}
}

// fitsWithout asks for one replica of a deployment, so the core preempts
// for a deployment whose minimum still does not fit afterwards.
func TestReviewPreemptsForDeploymentBelowMin(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n[1-2] site=par
tenant acme
class high value=100 preemptible=no
class low value=10 preemptible=yes
policy all=off preemption=on
running v tenant=acme class=low on=n1:0-7 started=-1h grace=1m
running f tenant=acme class=high on=n2:0-7 started=-1h
deployment d tenant=acme class=high replicas=2 min=2 gpus=8
schedule
apply
advance 1m
evict
schedule
`)
	if len(steps[0].plan.Preemptions) == 0 {
		return
	}
	if started(steps[1].plan, "d") == nil {
		t.Errorf("v was preempted for d, but d (min 2 × 8) still cannot start:\n%s\n---\n%s", steps[0].text, steps[1].text)
	}
}

// Backfill limits only the GPUs of reserved nodes: a later job takes the
// CPUs the reserved job needs and delays it indefinitely.
func TestReviewBackfillCPUDelaysReservation(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n1 site=par cpus=100
tenant acme
policy all=off backfill=on depth=4
running x tenant=acme on=n1:0-3 cpus=30 started=+0m limit=1h
job big tenant=acme gpus=4 cpus=80 limit=1h
job k tenant=acme gpus=4 cpus=60
schedule
apply
finish x
schedule now=+1h
`)
	if started(steps[0].plan, "k") != nil && started(steps[1].plan, "big") == nil {
		t.Errorf("k backfilled onto the reserved node's CPUs; big misses its reservation:\n%s\n---\n%s", steps[0].text, steps[1].text)
	}
}

// Backfill ignores power: a job on a non-reserved node uses the site power
// the reserved gang needs at its estimated start.
func TestReviewBackfillPowerDelaysReservation(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=15
nodes n[1-2] site=par
nodes n3 site=par model=A100 gpus=8
tenant acme
policy all=off backfill=on depth=4 power=on capping=off
running x tenant=acme on=n1:0-7 started=+0m limit=1h
job big tenant=acme replicas=2 gpus=8 models=H100 limit=1h
job k tenant=acme gpus=8 models=A100
schedule
apply
finish x
schedule now=+1h
`)
	if started(steps[0].plan, "k") != nil && started(steps[1].plan, "big") == nil {
		t.Errorf("k used the power the reservation needs; big misses it:\n%s\n---\n%s", steps[0].text, steps[1].text)
	}
}

// placeDeployment allocates replicas inside a what-if without decrementing
// Spare, so a constrained deployment takes more than the reserved node's
// spare GPUs.
func TestReviewDeploymentOverrunsReservationSpare(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n1 site=par
tenant acme
policy all=off backfill=on depth=4
running x tenant=acme on=n1:0-3 started=+0m limit=1h
job big tenant=acme gpus=6 limit=1h
deployment d tenant=acme replicas=4 min=1 gpus=1
schedule
apply
finish x
schedule now=+1h
`)
	if st := started(steps[0].plan, "d"); st != nil && startedGPUs(st) > 2 {
		t.Errorf("d takes %d GPUs of n1; the reservation leaves 2 spare, so big (6 GPUs) misses its start:\n%s\n---\n%s",
			startedGPUs(st), steps[0].text, steps[1].text)
	}
}

// An overdue running job (started + limit < now) gives an estimated start
// and a reservation in the past.
func TestReviewEstimatedStartInPast(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n1 site=par
tenant acme
policy all=off backfill=on depth=4
running x tenant=acme on=n1:0-7 started=-2h limit=1h
job big tenant=acme gpus=8 limit=1h
`)
	s := steps[0]
	for _, r := range s.plan.Reservations {
		if r.EstStart < s.plan.Now {
			t.Errorf("reservation of %s estimated at %s, before now %s", r.Job, r.EstStart, s.plan.Now)
		}
	}
	for _, pe := range s.plan.Pending {
		if pe.EstStart != 0 && pe.EstStart < s.plan.Now {
			t.Errorf("pending %s estimated to start at %s, before now %s", pe.Job, pe.EstStart, s.plan.Now)
		}
	}
}

// A pending gang whose ID is also running is dropped from the plan without
// a reason, breaking "every pending job appears exactly once".
func TestReviewPendingAlsoRunningUnexplained(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n1 site=par
tenant acme
policy all=off
running j1 tenant=acme on=n1:0-3 started=-1h
job j1 tenant=acme gpus=4
`)
	s := steps[0]
	if started(s.plan, "j1") == nil && pendingOf(s.plan, "j1") == nil {
		t.Errorf("j1 is pending in the snapshot but missing from the plan (Verify: %v)", s.verr)
	}
}

// With preemption off and reclaim on, reclaim never happens: preempt()
// returns early on !Policy.Preemption, while plan.Verify accepts
// preemptions when either flag is on.
func TestReviewReclaimWithoutPreemptionFlag(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100
nodes n[1-2] site=par
cohort c1
tenant acme cohort=c1 quota=H100:8
tenant beta cohort=c1 quota=H100:8
class normal value=50 preemptible=yes
policy all=off quotas=on preemption=off reclaim=on
running b1 tenant=beta class=normal on=n1:0-7 started=-3h
running b2 tenant=beta class=normal on=n2:0-7 started=-2h
job a1 tenant=acme class=normal gpus=8
`)
	if len(steps[0].plan.Preemptions) == 0 {
		t.Errorf("reclaim=on, preemption=off: acme (0/8) does not reclaim from borrower beta (16/8):\n%s", steps[0].text)
	}
}

// A GPU reported dirty with no LastTenant is treated as clean by the core
// but as dirty by plan.Verify: the core places on it and Verify rejects it.
func TestReviewDirtyWithoutTenant(t *testing.T) {
	w, _ := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100
nodes n1 site=par
tenant acme
policy all=off
job a tenant=acme gpus=8
`)
	st, _ := w.state("n1")
	st.GPUs[0] = model.GPUState{Dirty: true}
	got, verr, err := schedule(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if verr != nil {
		t.Errorf("core and Verify disagree on a dirty GPU without LastTenant: %v\n%v", verr, got)
	}
}

// Node "required" topology (all replicas on one node) is silently
// downgraded to a preferred NVLink domain.
func TestReviewTopologyNodeRequiredIgnored(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100
nodes n[1-2] site=par
tenant acme
policy all=off topology=on
running x tenant=acme on=n1:0-3 started=-1h
running y tenant=acme on=n2:0-3 started=-1h
job g tenant=acme replicas=2 gpus=4 topology=node:required
`)
	if st := started(steps[0].plan, "g"); st != nil && st.Replicas[0].Node != st.Replicas[1].Node {
		t.Errorf("g requires one node but starts on %s and %s:\n%s", st.Replicas[0].Node, st.Replicas[1].Node, steps[0].text)
	}
}

// Deferral range-normalises each zone separately and then compares the
// normalised scores across zones: a flat series scores 0 at every hour and
// masks a much cleaner hour in another zone.
func TestReviewDeferralFlatZoneMasksCleanerZone(t *testing.T) {
	_, steps := reviewRun(t, `
site a country=FR jur=EU,FR envelope_kw=100 zone=ZA
site b country=DE jur=EU,DE envelope_kw=100 zone=ZB
nodes na1 site=a
nodes nb1 site=b
tenant acme
policy all=off deferral=on carbon=1
grid ZA from=+0m prices=50,50,50,50,50,50 carbons=500,500,500,500,500,500
grid ZB from=+0m prices=50,50,50,50,50,50 carbons=400,400,10,10,10,10
job j tenant=acme gpus=8 limit=1h deadline=+5h
`)
	if len(steps[0].plan.Deferrals) == 0 {
		t.Errorf("now is ≥400 g/kWh in both zones, zone ZB has 10 g/kWh from 02:00, yet j is not deferred:\n%s", steps[0].text)
	}
}

// The victim set is a cheapest-first prefix pruned from its end: two cheap
// jobs that together free one node (2.0 GPU-h lost) beat one slightly
// dearer job that frees another node alone (1.6 GPU-h).
func TestReviewPreemptionNotCheapestSet(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=200
nodes n[1-2] site=par
tenant acme
class high value=100 preemptible=no
class low value=10 preemptible=yes
policy all=off preemption=on
running a1 tenant=acme class=low on=n1:0-3 started=-3h checkpoint=-15m
running a2 tenant=acme class=low on=n1:4-7 started=-3h checkpoint=-15m
running c tenant=acme class=low on=n2:0-7 started=-3h checkpoint=-12m
job j tenant=acme class=high gpus=8
`)
	var lost float64
	for _, pr := range steps[0].plan.Preemptions {
		lost += pr.LostGPUSeconds
	}
	if lost > 1.6*3600+1 {
		t.Errorf("victims lose %.2f GPU-h; evicting c alone loses 1.60:\n%s", lost/3600, steps[0].text)
	}
}

// The what-if of preemption releases the victim's GPUs clean (Release's
// comment assumes the same tenant), but a victim of another tenant leaves
// them dirty: after the eviction the beneficiary cannot use them, is no
// longer "waiting", and preempts again.
func TestReviewPreemptionIgnoresScrub(t *testing.T) {
	_, steps := reviewRun(t, `
site par country=FR jur=EU,FR envelope_kw=100
nodes n[1-2] site=par
tenant acme
tenant beta
class high value=100 preemptible=no
class low value=10 preemptible=yes
policy all=off preemption=on
running b1 tenant=beta class=low on=n1:0-7 started=-3h checkpoint=-10m grace=10m
running b2 tenant=beta class=low on=n2:0-7 started=-2h checkpoint=-1h grace=10m
job a1 tenant=acme class=high gpus=8
schedule
apply
advance 10m
evict dirty=yes
schedule
`)
	if len(steps[1].plan.Preemptions) > 0 {
		t.Errorf("a1 preempts a second victim because its first victim's GPUs are dirty:\n%s\n---\n%s", steps[0].text, steps[1].text)
	}
}
