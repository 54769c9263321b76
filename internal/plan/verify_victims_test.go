package plan_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// TestVerifyVictimsInFlight checks that the victim rule judges borrowing
// on quota in flight, as the core does: a tenant's usage less the GPUs
// leaving it (terminating, or the plan's victims) plus the GPUs promised
// to its beneficiaries. On usage alone, plans that evicted a borrower
// below its nominal quota, or let a tenant reclaim beyond its own, passed,
// and the two tenants could evict each other for ever.
func TestVerifyVictimsInFlight(t *testing.T) {
	// acme and beta share cohort c; beta runs r1 (n2:0-3) and r3
	// (n2:4-7), both low; acme's j2 and j4 (2 GPUs each, of r1's
	// priority) reclaim r1 and r3; acme's j1 waits.
	setup := func(s *model.Snapshot, p *model.Plan) {
		cohort(s)
		r3 := job("r3", "beta", 1, 4)
		r3.PriorityClass, r3.Preemptible, r3.CheckpointGrace = "low", true, 10*model.Minute
		s.Running = append(s.Running, model.Allocation{Job: r3, Started: t0 - 3600, Replicas: []model.Placement{place("n2", seq(4, 7)...)}})
		j2 := pending(s, "j2")
		j2.Tenant, j2.PriorityClass = "acme", "low"
		j4 := job("j4", "acme", 1, 2)
		j4.PriorityClass = "low"
		s.Pending = append(s.Pending, j4)
		p.Starts = nil
		p.Pending = []model.Pending{{Job: "j1", Code: model.ReasonCapacity},
			{Job: "j2", Code: model.ReasonPreempting}, {Job: "j4", Code: model.ReasonPreempting}}
	}
	evict := func(p *model.Plan, victim, beneficiary string) {
		p.Preemptions = append(p.Preemptions, model.Preemption{Victim: victim, Beneficiary: beneficiary, NoticeAt: t0, EvictAt: t0.Add(10 * model.Minute)})
	}
	// waiting adds beta's r5 (n1, 2 GPUs), terminating for acme's j4.
	waiting := func(s *model.Snapshot, p *model.Plan) {
		r5 := job("r5", "beta", 1, 2)
		r5.PriorityClass, r5.Preemptible = "low", true
		s.Running = append(s.Running, model.Allocation{Job: r5, Started: t0 - 3600, Replicas: []model.Placement{place("n1", 6, 7)},
			Terminating: true, EvictAt: t0.Add(5 * model.Minute), PreemptedFor: "j4"})
	}
	quota := func(s *model.Snapshot, tn string, h100 int) {
		tenant(s, tn).Quota["H100"] = model.Quota{Nominal: h100}
	}
	runMutations(t, []mutation{
		{"reclaim of two victims, the last taking beta to its nominal", func(s *model.Snapshot, p *model.Plan) {
			setup(s, p)
			quota(s, "beta", 0)
			evict(p, "r1", "j2")
			evict(p, "r3", "j4")
		}, nil},
		{"reclaim of two victims, taking beta below its nominal by more than the last", func(s *model.Snapshot, p *model.Plan) {
			setup(s, p)
			quota(s, "beta", 4) // uses 8: borrows 4, loses 8
			evict(p, "r1", "j2")
			evict(p, "r3", "j4")
		}, []string{"victim r1  -1", "victim r3  -1"}},
		{"priority preemption of two victims, taking beta below its nominal", func(s *model.Snapshot, p *model.Plan) {
			setup(s, p)
			s.Facility.Policy.Reclaim = false
			pending(s, "j2").PriorityClass = "high"
			pending(s, "j4").PriorityClass = "high"
			quota(s, "beta", 4)
			evict(p, "r1", "j2")
			evict(p, "r3", "j4")
		}, []string{"victim r1  -1", "victim r3  -1"}},
		{"priority preemption of one victim, beta left at its nominal", func(s *model.Snapshot, p *model.Plan) {
			setup(s, p)
			s.Facility.Policy.Reclaim = false
			pending(s, "j2").PriorityClass = "high"
			quota(s, "beta", 4)
			evict(p, "r1", "j2")
		}, nil},
		{"reclaim from a tenant that borrows only GPUs already leaving it", func(s *model.Snapshot, p *model.Plan) {
			setup(s, p)
			waiting(s, p)
			quota(s, "beta", 8) // uses 10, 2 of them leaving
			evict(p, "r1", "j2")
		}, []string{"victim r1  -1"}},
		{"reclaim by a tenant whose other beneficiaries take its nominal", func(s *model.Snapshot, p *model.Plan) {
			setup(s, p)
			quota(s, "beta", 0)
			quota(s, "acme", 3) // 2 for j2 and 2 for j4: 4 > 3
			evict(p, "r1", "j2")
			evict(p, "r3", "j4")
		}, []string{"victim r1  -1", "victim r3  -1"}},
		{"reclaim by a tenant whose waiting beneficiary takes its nominal", func(s *model.Snapshot, p *model.Plan) {
			setup(s, p)
			waiting(s, p)
			quota(s, "beta", 0)
			quota(s, "acme", 3) // 2 promised to j4, waiting for r5, and 2 for j2
			evict(p, "r1", "j2")
		}, []string{"victim r1  -1"}},
		{"reclaim by a tenant with room for its waiting beneficiary too", func(s *model.Snapshot, p *model.Plan) {
			setup(s, p)
			waiting(s, p)
			quota(s, "beta", 0)
			quota(s, "acme", 4)
			evict(p, "r1", "j2")
		}, nil},
	})
}
