package server

import (
	"flag"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
)

// TestTenantViewsNameNoOtherTenant is a property over random
// multi-tenant workloads (docs/security.md, "Tenant scoping"): whatever
// the scheduler says about a job, what a tenant reads through the API
// (job lists, a job, its events and why — the GPUs a pending job could
// use and what holds them included —, the event pages, the watch
// stream, every other GET a tenant may call) names no job and no tenant
// but the reader's own. Job IDs ("jid-alpha-0007") and tenant names
// ("tnt-alpha") are such that a regular expression finds each one in
// any text.
//
// The workload is made of episodes, drawn from a seeded generator, that
// provoke every form in which the core (or the server) names a job or a
// tenant (leakForms); the test fails unless operators saw each form,
// naming another tenant or its job where the form can: it cannot pass by
// provoking nothing. Each seed provokes every form; -leak.seeds=N runs
// N workloads.
func TestTenantViewsNameNoOtherTenant(t *testing.T) {
	seen, across, whys := map[string]int{}, map[string]int{}, map[string]int{}
	var leaks []string
	for seed := range uint64(*leakSeeds) {
		for _, backfill := range []bool{true, false} {
			r := newLeakRun(t, seed, leakFacility(backfill))
			hs := httptest.NewServer(r.e.s.Handler())
			drain := r.watchAll(hs)
			r.episodes(12)
			r.observeEvents()
			r.sweep()
			drain()
			hs.Close()
			r.restarted()
			r.sweep()
			for k, v := range r.seen {
				seen[k] += v
			}
			for k, v := range r.across {
				across[k] += v
			}
			for k, v := range r.whys {
				whys[k] += v
			}
			for _, l := range r.leaks {
				leaks = append(leaks, fmt.Sprintf("seed %d, backfill %v: %s", seed, backfill, l))
			}
		}
	}
	slices.Sort(leaks)
	for _, l := range leaks {
		t.Error(l)
	}
	// the why of a pending job sums up the GPUs other tenants' jobs
	// hold, and names the tenant's own: the scan read both
	for _, k := range []string{"others", "own"} {
		t.Logf("why answers with GPUs held by %-6s jobs: %5d", k, whys[k])
		if whys[k] == 0 {
			t.Errorf("no why answer read showed GPUs held by %s jobs", k)
		}
	}
	for _, f := range leakForms {
		t.Logf("%-62s seen %5d, naming another tenant or its job %5d", f.name, seen[f.name], across[f.name])
		switch {
		case seen[f.name] == 0:
			t.Errorf("the workload never provoked %q", f.name)
		case f.cross && across[f.name] == 0:
			t.Errorf("the workload provoked %q only about a tenant's own jobs", f.name)
		}
	}
}

// leakSeeds is how many workloads TestTenantViewsNameNoOtherTenant
// draws (seeds 0, 1, …), each run with backfill on and off.
var leakSeeds = flag.Int("leak.seeds", 1, "workloads of TestTenantViewsNameNoOtherTenant")

// leakTenants are the tenants of the leak facility.
var leakTenants = []string{"tnt-alpha", "tnt-bravo", "tnt-charlie", "tnt-delta", "tnt-echo", "tnt-foxtrot"}

// leakForm is a form of the operators' words that names a job or a
// tenant; cross says it may name another tenant or its job (rather than
// the job's own tenant), and the test wants such an instance.
type leakForm struct {
	name  string
	re    *regexp.Regexp
	cross bool
}

// leakForms are the forms: every fmt.Sprintf of internal/sched that puts
// a job ID or a tenant name into a reason, and the server's own.
var leakForms = []leakForm{
	// quota.go (the tenant is the job's own)
	{"quota: tenant T uses …, cohort C lends", regexp.MustCompile(`quota: tenant tnt-[a-z]+ uses \d+/\d+ H100 \(nominal\), needs \d+, cohort coh-[a-z]+ lends`), false},
	{"quota: tenant T uses …, no cohort to borrow from", regexp.MustCompile(`quota: tenant tnt-[a-z]+ uses .*no cohort to borrow from`), false},
	{"quota: tenant T uses …, would borrow N; borrowing limit", regexp.MustCompile(`quota: tenant tnt-[a-z]+ uses .*would borrow \d+; borrowing limit \d+`), false},
	{"quota: needs N GPUs; tenant T's quota gives it at most", regexp.MustCompile(`quota: needs \d+ GPUs; tenant tnt-[a-z]+'s quota gives it at most`), false},
	// nominate.go
	{"(counting N held for job X, which waits …)", regexp.MustCompile(`\(counting \d+ held for job jid-[a-z]+-\d{4}, which waits`), true},
	// preempt.go
	{"reclaim: tenant A takes back … from borrower B", regexp.MustCompile(`reclaim: tenant tnt-[a-z]+ takes back its nominal quota from borrower tnt-[a-z]+`), true},
	{"priority P preempts Q (tenant T borrows beyond …)", regexp.MustCompile(`priority -?\d+ preempts -?\d+ \(tenant tnt-[a-z]+ borrows beyond its nominal quota\)`), false},
	{"preempting: evicting X; …", regexp.MustCompile(`preempting: evicting jid-[a-z]+-\d{4}`), true},
	{"preempting: evicting X, Y; …", regexp.MustCompile(`preempting: evicting jid-[a-z]+-\d{4}, jid-[a-z]+-\d{4}`), true},
	// reasons.go
	{"backfill: reserved for job X", regexp.MustCompile(`backfill: reserved for job jid-[a-z]+-\d{4} \(starts`), true},
	{"N more are claimed by job X", regexp.MustCompile(`\d+ more are claimed by job jid-[a-z]+-\d{4}`), true},
	{"N more are held for job X, which waits …", regexp.MustCompile(`\d+ more are held for job jid-[a-z]+-\d{4}, which waits`), true},
	{"power: site S IT load …", regexp.MustCompile(`power: (site st-[a-z]+ IT load is|starting would raise site st-[a-z]+ IT load)`), false},
	{"sovereignty: allowed …; free … only in", regexp.MustCompile(`sovereignty: allowed .*; free H100 only in`), false},
	// schedule.go (the tenant is the job's own)
	{"sovereignty: job allows … and tenant T allows …", regexp.MustCompile(`sovereignty: job allows .* and tenant tnt-[a-z]+ allows`), false},
	{"sovereignty: … tenant T's jurisdictions … data class D's", regexp.MustCompile(`sovereignty: no site carries one of tenant tnt-[a-z]+'s jurisdictions .* data class dc-[a-z]+'s`), false},
	// (its "invalid: unknown tenant T" and "invalid: tenant T may not use
	// priority class" reach no view: the server cancels such a pending
	// job at the start that made it so, facility_change.go, below)
	// start.go: a deployment's reason, wrapping another
	{"capacity: deployment needs N more replica(s)", regexp.MustCompile(`capacity: deployment needs \d+ more replica`), false},
	// schedule.go: a reason wrapped in another
	{"deadline: cannot finish by … waits because …", regexp.MustCompile(`deadline: cannot finish by .* waits because`), false},
	// backfill.go, with backfill off
	{"priority: waiting behind job X (backfill is off)", regexp.MustCompile(`priority: waiting behind job jid-[a-z]+-\d{4}`), true},
	// the server's: a pending job the facility file no longer allows,
	// cancelled at a start (the tenant is the job's own)
	{"its tenant T is no longer in the facility", regexp.MustCompile(`its tenant "tnt-[a-z]+" is no longer in the facility`), false},
	{"its priority class … is no longer allowed for tenant T", regexp.MustCompile(`its priority class "[a-z]+" is no longer allowed for tenant tnt-[a-z]+`), false},
	// the server's facility-wide event (the victim reads "preempted for
	// X: …", rewritten)
	{"job V of tenant A preempted for job X of tenant B", regexp.MustCompile(`job jid-[a-z]+-\d{4} of tenant tnt-[a-z]+ preempted for job jid-[a-z]+-\d{4} of tenant tnt-[a-z]+`), true},
}

// leakFacility is a small facility that provokes every form: site st-x
// (FR, three nodes of 8 H100) with power to spare, site st-y (DE, one
// node) whose envelope runs three busy GPUs; tenants alpha, bravo,
// charlie and echo share cohort coh-main, whose own quota lends beyond
// the GPUs there are (so capacity, not quota, stops most work); charlie
// has a borrowing limit, echo may not use class high (refused at
// submission), delta runs in DE only on a small quota of its own;
// foxtrot has a quota of its own too, and no one to preempt.
func leakFacility(backfill bool) *model.Facility {
	fac := DevFacility("st-x", "FR")
	fac.Sites[0].PowerEnvelopeKW = 1000
	y := fac.Sites[0]
	y.ID, y.Country, y.GridZone, y.Jurisdictions = "st-y", "DE", "DE", facility.DefaultJurisdictions("DE")
	y.PowerEnvelopeKW = 3
	fac.Sites = append(fac.Sites, y)
	fac.Halls = append(fac.Halls, model.Hall{ID: "st-y-hall", Site: "st-y", Cooling: model.CoolingAir})
	quota := func(n int) map[string]model.Quota { return map[string]model.Quota{"H100": {Nominal: n}} }
	four := 4
	fac.Cohorts = []model.Cohort{{Name: "coh-main", Quota: quota(8)}}
	fac.Tenants = []model.Tenant{
		{Name: "tnt-alpha", Cohort: "coh-main", Quota: quota(12), FairShareWeight: 1},
		{Name: "tnt-bravo", Cohort: "coh-main", Quota: quota(12), FairShareWeight: 1},
		{Name: "tnt-charlie", Cohort: "coh-main", Quota: map[string]model.Quota{"H100": {Nominal: 4, BorrowingLimit: &four}}, FairShareWeight: 1},
		{Name: "tnt-delta", Quota: quota(4), FairShareWeight: 1, Jurisdictions: []string{"DE"}},
		{Name: "tnt-echo", Cohort: "coh-main", Quota: quota(4), FairShareWeight: 1, PriorityClasses: []string{"low", "normal"}},
		{Name: "tnt-foxtrot", Quota: quota(8), FairShareWeight: 1},
	}
	fac.DataClasses = map[string][]string{"dc-restricted": {"DE"}}
	fac.Policy = model.DefaultPolicy()
	fac.Policy.PowerCapping = false
	fac.Policy.Deferral = false
	fac.Policy.ReclaimMinRun = 0
	fac.Policy.Backfill = backfill
	return fac
}

// nominal is tenant's nominal H100 quota in the leak facility.
func nominal(tenant string) int {
	for _, t := range leakFacility(true).Tenants {
		if t.Name == tenant {
			return t.Quota["H100"].Nominal
		}
	}
	return 0
}

// cohort are the tenants of coh-main.
var cohort = []string{"tnt-alpha", "tnt-bravo", "tnt-charlie", "tnt-echo"}

// others are the tenants of ts but those of not.
func others(ts []string, not ...string) []string {
	return slices.DeleteFunc(slices.Clone(ts), func(t string) bool { return slices.Contains(not, t) })
}

// episodes runs n episodes, each of a kind drawn (every kind in turn,
// in a drawn order); each ends with every tenant cancelling its work.
func (r *leakRun) episodes(n int) {
	kinds := []func(){r.reclaim, r.backfill, r.elsewhere, r.mixed}
	var order []int
	for i := range n {
		if i%len(kinds) == 0 {
			order = append(order, r.rng.Perm(len(kinds))...)
		}
		kinds[order[i]]()
		r.clear()
	}
}

// mixed: random work of random tenants, some of which ends on its own.
func (r *leakRun) mixed() {
	r.churn = true
	defer func() { r.churn = false }()
	for range 4 {
		for range 1 + r.rng.IntN(4) {
			r.noise()
		}
		r.step()
	}
}

// reclaim: delta runs a little in site st-y (so that work of 8 GPUs
// fits nowhere there); a borrower fills site st-x: a node of work no one
// may preempt (its class is placed first), a gang whose two replicas may
// not share a node (their CPUs), then small preemptible work beside it,
// all taking minutes to checkpoint. Mostly, the other tenant of nominal
// quota 12 takes back a node's GPUs, the gang's and its neighbours'
// (reclaim from work of its class, or priority preemption of a lower
// one); bystanders that may preempt no one ask for a node's GPUs: held
// for its job while the victims leave, and claimed for it once the gang
// left, on the node the job will not use; another asks for more than
// the cohort has left beside what is held. Otherwise a tenant of the
// cohort within its nominal quota takes back a drawn shape, and is now
// and then cancelled while its victims still run.
func (r *leakRun) reclaim() {
	r.job("tnt-delta", "gpus", 1+r.rng.IntN(3), "priority_class", "high")
	borrower := pick(r.rng, "tnt-alpha", "tnt-bravo")
	r.reclaims++
	byPriority := r.reclaims%2 == 0
	theirs := func() string { // the borrower's class
		if byPriority {
			return pick(r.rng, "low", "normal")
		}
		return "normal"
	}
	fr := []string{"FR"}
	grace := func() string { return fmt.Sprintf("%dm", 5+r.rng.IntN(30)) }
	r.job(borrower, "gpus", 4, "replicas", 2, "priority_class", "high", "jurisdictions", fr)
	gang := r.job(borrower, "gpus", 4, "replicas", 2, "cpus", 20, "priority_class", theirs(), "jurisdictions", fr, "checkpoint_grace", grace())
	r.step()
	for free := 8; free > 0; {
		g := min(free, pick(r.rng, 1, 2, 4, 4))
		r.job(borrower, "gpus", g, "cpus", 1, "priority_class", theirs(), "jurisdictions", fr, "checkpoint_grace", grace())
		free -= g
	}
	r.step()
	r.step()
	taker, need, reps := others([]string{"tnt-alpha", "tnt-bravo"}, borrower)[0], 8, 1
	drawn := r.rng.IntN(3) == 0
	if drawn {
		taker = pick(r.rng, others(cohort, borrower)...)
		need, reps = min(nominal(taker), pick(r.rng, 4, 8)), pick(r.rng, 1, 2)
	}
	class := "normal"
	if byPriority && taker != "tnt-echo" {
		class = "high"
	}
	id := r.job(taker, "gpus", need/reps, "replicas", reps, "priority_class", class, "jurisdictions", fr)
	r.step()
	if drawn && r.rng.IntN(3) == 0 {
		r.cancel(id)
	}
	for range 1 + r.rng.IntN(2) {
		r.job(pick(r.rng, others([]string{borrower, "tnt-charlie", "tnt-echo"}, taker)...), "gpus", 8, "priority_class", "low")
	}
	r.job("tnt-foxtrot", "gpus", 8, "priority_class", "critical")
	r.job(pick(r.rng, others(cohort, taker, "tnt-charlie")...), "gpus", 8, "replicas", 3, "priority_class", "low")
	r.stepWith(func() { r.agentsEnd(gang) })
	for range 3 {
		r.step()
	}
}

// backfill: tenants fill most of site st-x with work of known runtime
// that no one may preempt, the node with room the first to be free; a
// gang of another cannot start and gets a reservation of that node and
// the next to be free; small work of others, of a lower class (so that
// its turn comes after the reservation), without (or with a long)
// runtime limit would fit now but for the reservation.
func (r *leakRun) backfill() {
	for _, w := range []struct{ gpus, from, to int }{{4, 10, 30}, {8, 40, 80}, {8, 180, 300}} {
		r.job(pick(r.rng, "tnt-alpha", "tnt-bravo", "tnt-charlie"), "gpus", w.gpus, "priority_class", "high", "jurisdictions", []string{"FR"},
			"runtime_limit", fmt.Sprintf("%dm", w.from+r.rng.IntN(w.to-w.from)))
	}
	r.step()
	big := pick(r.rng, "tnt-alpha", "tnt-bravo")
	r.job(big, "gpus", 8, "replicas", 2, "priority_class", "high", "jurisdictions", []string{"FR"}, "runtime_limit", "2h")
	for range 2 + r.rng.IntN(3) {
		kv := []any{"gpus", pick(r.rng, 1, 2), "priority_class", pick(r.rng, "normal", "low"), "jurisdictions", []string{"FR"}}
		if r.rng.IntN(2) == 0 {
			kv = append(kv, "runtime_limit", "20h")
		}
		r.job(pick(r.rng, others(cohort, big)...), kv...)
	}
	for range 3 {
		r.step()
	}
}

// elsewhere: work where it may not go. Delta's runs into the power
// envelope of site st-y, or beyond its quota; jobs bound to one site
// while the other has room; deployments that want more replicas than
// fit; a job that can no longer meet its deadline.
func (r *leakRun) elsewhere() {
	for range 2 + r.rng.IntN(3) {
		r.job("tnt-delta", "gpus", pick(r.rng, 1, 2, 4), "priority_class", pick(r.rng, "low", "normal", "high"))
	}
	r.job("tnt-delta", "gpus", pick(r.rng, 2, 4, 8), "replicas", pick(r.rng, 2, 3)) // more than its quota
	for range 2 {
		r.job(pick(r.rng, "tnt-alpha", "tnt-bravo"), "gpus", 8, "priority_class", "high", "jurisdictions", []string{"FR"})
	}
	r.step()
	r.job(pick(r.rng, "tnt-alpha", "tnt-bravo"), "gpus", 8, "priority_class", "high", "jurisdictions", []string{"FR"})
	r.job(pick(r.rng, cohort...), "gpus", 2, "jurisdictions", []string{pick(r.rng, "FR", "DE")})
	r.job(pick(r.rng, cohort...), "kind", "deployment", "gpus", pick(r.rng, 2, 4), "replicas", 6, "min_replicas", 2,
		"jurisdictions", []string{pick(r.rng, "FR", "DE")})
	r.job(pick(r.rng, cohort...), "gpus", 8, "jurisdictions", []string{"FR"}, "runtime_limit", "2h",
		"deadline", r.e.clock.now().Add(2*time.Hour+time.Minute).Format(time.RFC3339))
	for range 3 {
		r.step()
	}
}

// noise is a job of a random tenant of a random shape: gangs, classes,
// runtime limits, grace, jurisdictions, data classes, deployments.
func (r *leakRun) noise() {
	tenant := pick(r.rng, leakTenants...)
	kv := []any{"gpus", pick(r.rng, 1, 2, 4, 8), "replicas", pick(r.rng, 1, 1, 2), "priority_class", pick(r.rng, "low", "normal", "high")}
	if r.rng.IntN(2) == 0 {
		kv = append(kv, "runtime_limit", fmt.Sprintf("%dm", 20+r.rng.IntN(200)))
	}
	if r.rng.IntN(2) == 0 {
		kv = append(kv, "checkpoint_grace", fmt.Sprintf("%dm", 1+r.rng.IntN(20)))
	}
	switch r.rng.IntN(6) {
	case 0:
		kv = append(kv, "jurisdictions", []string{pick(r.rng, "FR", "DE")})
	case 1:
		kv = append(kv, "data_class", "dc-restricted")
	case 2:
		kv = append(kv, "kind", "deployment", "replicas", 2+r.rng.IntN(4), "min_replicas", 1)
	}
	r.job(tenant, kv...)
}

// restarted: work submitted under one facility file waits under
// another, narrower one: bravo may now run in DE only (its job asks for
// FR), alpha in FR only (its job's data class must stay in DE); echo is
// in class low only (its job is normal) and foxtrot is gone, which the
// start cancels. The pass after the restart says why, and the start's
// events, naming the job's own tenant.
func (r *leakRun) restarted() {
	r.job("tnt-bravo", "gpus", 1, "jurisdictions", []string{"FR"})
	r.job("tnt-alpha", "gpus", 1, "data_class", "dc-restricted")
	r.job("tnt-echo", "gpus", 1, "priority_class", "normal")
	r.job("tnt-foxtrot", "gpus", 1)
	fac := leakFacility(true)
	fac.Tenants = slices.DeleteFunc(fac.Tenants, func(t model.Tenant) bool { return t.Name == "tnt-foxtrot" })
	for i := range fac.Tenants {
		switch t := &fac.Tenants[i]; t.Name {
		case "tnt-bravo":
			t.Jurisdictions = []string{"DE"}
		case "tnt-alpha":
			t.Jurisdictions = []string{"FR"}
		case "tnt-echo":
			t.PriorityClasses = []string{"low"}
		}
	}
	r.restart(fac)
	r.observeEvents()
	r.step()
	r.step()
}
