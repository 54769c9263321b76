package plan_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// mutation is one case of a table over the fixture.
type mutation struct {
	name   string
	mutate func(*model.Snapshot, *model.Plan)
	want   []string
}

func runMutations(t *testing.T, tests []mutation) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, p := fixture()
			tt.mutate(snap, p)
			err := plan.Verify(snap, p)
			if diff := cmp.Diff(tt.want, keys(err)); diff != "" {
				t.Errorf("violations (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func tenant(s *model.Snapshot, name string) *model.Tenant {
	for i := range s.Facility.Tenants {
		if s.Facility.Tenants[i].Name == name {
			return &s.Facility.Tenants[i]
		}
	}
	panic("no tenant " + name)
}

// runAcme adds a running acme job holding pl.
func runAcme(s *model.Snapshot, id string, terminating bool, pl ...model.Placement) {
	a := model.Allocation{Job: job(id, "acme", len(pl), len(pl[0].GPUs)), Started: t0 - 60, Replicas: pl}
	if terminating {
		a.Terminating, a.EvictAt = true, t0+60
	}
	s.Running = append(s.Running, a)
}

// holdJ1 leaves j1 pending instead of starting it.
func holdJ1(p *model.Plan) {
	p.Starts = nil
	p.Pending = append(p.Pending, model.Pending{Job: "j1", Code: model.ReasonCapacity})
}

// cohort puts acme and beta in cohort c.
func cohort(s *model.Snapshot) {
	s.Facility.Cohorts = []model.Cohort{{Name: "c"}}
	tenant(s, "acme").Cohort = "c"
	tenant(s, "beta").Cohort = "c"
}

// In the fixture j1 (acme) starts 8 H100; r1 (beta) runs on 4 H100; each
// tenant's nominal quota is 16 H100 and 8 A100.
func TestVerifyQuota(t *testing.T) {
	h100 := func(s *model.Snapshot, name string, nominal int) {
		tenant(s, name).Quota["H100"] = model.Quota{Nominal: nominal}
	}
	runMutations(t, []mutation{
		{"exactly nominal", func(s *model.Snapshot, _ *model.Plan) { h100(s, "acme", 8) }, nil},
		{"over nominal without cohort", func(s *model.Snapshot, _ *model.Plan) { h100(s, "acme", 7) },
			[]string{"quota j1  -1"}},
		{"quotas off", func(s *model.Snapshot, _ *model.Plan) {
			h100(s, "acme", 7)
			s.Facility.Policy.Quotas = false
		}, nil},
		{"tenant without quota for the model", func(s *model.Snapshot, _ *model.Plan) { delete(tenant(s, "acme").Quota, "H100") },
			[]string{"quota j1  -1"}},
		{"running usage counts", func(s *model.Snapshot, _ *model.Plan) {
			h100(s, "acme", 11)
			runAcme(s, "a0", false, place("n2", 4, 5, 6, 7))
		}, []string{"quota j1  -1"}},
		{"running usage within nominal", func(s *model.Snapshot, _ *model.Plan) {
			h100(s, "acme", 12)
			runAcme(s, "a0", false, place("n2", 4, 5, 6, 7))
		}, nil},
		{"terminating usage counts", func(s *model.Snapshot, _ *model.Plan) {
			h100(s, "acme", 11)
			runAcme(s, "a0", true, place("n2", 4, 5, 6, 7))
		}, []string{"quota j1  -1"}},
		{"starts count in plan order", func(s *model.Snapshot, p *model.Plan) {
			h100(s, "acme", 9)
			j2 := pending(s, "j2")
			j2.Tenant = "acme"
			startJ2(p, place("n2", 4, 5))
		}, []string{"quota j2  -1"}},
		{"quota is per model", func(s *model.Snapshot, p *model.Plan) {
			tenant(s, "beta").Quota["A100"] = model.Quota{Nominal: 1}
			startJ2(p, place("n3", 0, 1))
		}, []string{"quota j2  -1"}},
		{"usage over quota without a start", func(s *model.Snapshot, p *model.Plan) {
			h100(s, "beta", 2) // r1 holds 4
			p.Starts = nil
			p.Pending = append(p.Pending, model.Pending{Job: "j1", Code: model.ReasonQuota})
		}, nil},
		{"usage over quota, start of another tenant", func(s *model.Snapshot, _ *model.Plan) { h100(s, "beta", 2) }, nil},
		{"usage over quota, start adds to it", func(s *model.Snapshot, p *model.Plan) {
			h100(s, "beta", 2)
			startJ2(p, place("n2", 4, 5))
		}, []string{"quota j2  -1"}},
		{"unknown tenant is not limited", func(s *model.Snapshot, _ *model.Plan) { pending(s, "j1").Tenant = "ghost" }, nil},
		{"borrow a sibling's unused quota", func(s *model.Snapshot, _ *model.Plan) {
			cohort(s)
			h100(s, "acme", 4)
			h100(s, "beta", 8) // uses 4, lends 4
		}, nil},
		{"borrowing: preemptible, a job that is not", func(s *model.Snapshot, _ *model.Plan) {
			cohort(s)
			h100(s, "acme", 4)
			h100(s, "beta", 8)
			s.Facility.Policy.BorrowPreemptibleOnly = true
			pending(s, "j1").Preemptible = false
		}, []string{"quota j1  -1"}},
		{"borrowing: preemptible, a preemptible job", func(s *model.Snapshot, _ *model.Plan) {
			cohort(s)
			h100(s, "acme", 4)
			h100(s, "beta", 8)
			s.Facility.Policy.BorrowPreemptibleOnly = true
			pending(s, "j1").Preemptible = true
		}, nil},
		{"borrowing: preemptible, within nominal", func(s *model.Snapshot, _ *model.Plan) {
			cohort(s)
			h100(s, "acme", 8)
			s.Facility.Policy.BorrowPreemptibleOnly = true
			pending(s, "j1").Preemptible = false
		}, nil},
		{"sibling's use leaves too little", func(s *model.Snapshot, _ *model.Plan) {
			cohort(s)
			h100(s, "acme", 4)
			h100(s, "beta", 7) // uses 4, lends 3
		}, []string{"quota j1  -1"}},
		{"borrowing limit", func(s *model.Snapshot, _ *model.Plan) {
			cohort(s)
			tenant(s, "acme").Quota["H100"] = model.Quota{Nominal: 4, BorrowingLimit: ptr(3)}
			h100(s, "beta", 8)
		}, []string{"quota j1  -1"}},
		{"lending limit", func(s *model.Snapshot, _ *model.Plan) {
			cohort(s)
			h100(s, "acme", 4)
			tenant(s, "beta").Quota["H100"] = model.Quota{Nominal: 8, LendingLimit: ptr(3)}
		}, []string{"quota j1  -1"}},
		{"cohort's own quota", func(s *model.Snapshot, _ *model.Plan) {
			cohort(s)
			s.Facility.Cohorts[0].Quota = map[string]model.Quota{"H100": {Nominal: 8}}
			h100(s, "acme", 0)
			h100(s, "beta", 4)
		}, nil},
	})
}

// In the fixture r1 (beta, low) may be preempted for j2 (beta, high).
func TestVerifyVictims(t *testing.T) {
	preempt := func(p *model.Plan) {
		p.Preemptions = []model.Preemption{{Victim: "r1", Beneficiary: "j2", NoticeAt: t0, EvictAt: t0.Add(10 * model.Minute)}}
	}
	// reclaim: acme's j2, of the victim's priority, reclaims from beta
	// borrowing 2 H100 in their cohort.
	reclaim := func(s *model.Snapshot, p *model.Plan) {
		cohort(s)
		tenant(s, "beta").Quota["H100"] = model.Quota{Nominal: 2}
		j2 := pending(s, "j2")
		j2.Tenant, j2.PriorityClass = "acme", "low"
		preempt(p)
	}
	runMutations(t, []mutation{
		{"lower priority, same tenant", func(_ *model.Snapshot, p *model.Plan) { preempt(p) }, nil},
		{"lower priority, no beneficiary", func(_ *model.Snapshot, p *model.Plan) {
			preempt(p)
			p.Preemptions[0].Beneficiary = ""
		}, nil},
		{"equal priority", func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Job.PriorityClass = "high"
			preempt(p)
		}, []string{"victim r1  -1"}},
		{"higher priority", func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Job.PriorityClass = "high"
			pending(s, "j2").PriorityClass = "low"
			preempt(p)
		}, []string{"victim r1  -1"}},
		{"unknown class counts as 0", func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Job.PriorityClass = "nope"
			preempt(p)
		}, nil},
		{"priority preemption off", func(s *model.Snapshot, p *model.Plan) {
			s.Facility.Policy.Preemption = false
			preempt(p)
		}, []string{"victim r1  -1"}},
		{"other tenant within nominal", func(s *model.Snapshot, p *model.Plan) {
			pending(s, "j2").Tenant = "acme"
			preempt(p)
		}, []string{"victim r1  -1"}},
		{"other tenant within nominal, quotas off", func(s *model.Snapshot, p *model.Plan) {
			s.Facility.Policy.Quotas = false
			pending(s, "j2").Tenant = "acme"
			preempt(p)
		}, nil},
		{"other tenant's CPU-only victim", func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Replicas[0].GPUs = nil
			running(s, "r1").Job.GPUsPerReplica = 0
			pending(s, "j2").Tenant = "acme"
			preempt(p)
		}, nil},
		{"other tenant borrowing", func(s *model.Snapshot, p *model.Plan) {
			cohort(s)
			tenant(s, "beta").Quota["H100"] = model.Quota{Nominal: 3}
			pending(s, "j2").Tenant = "acme"
			preempt(p)
		}, nil},
		{"other tenant borrowing, another cohort tree", func(s *model.Snapshot, p *model.Plan) {
			tenant(s, "beta").Quota["H100"] = model.Quota{Nominal: 3}
			pending(s, "j2").Tenant = "acme"
			preempt(p)
		}, []string{"victim r1  -1"}},
		{"other tenant borrowing another model", func(s *model.Snapshot, p *model.Plan) {
			cohort(s)
			tenant(s, "beta").Quota["A100"] = model.Quota{Nominal: 0}
			s.Running = append(s.Running, model.Allocation{Job: job("r2", "beta", 1, 1), Replicas: []model.Placement{place("n3", 0)}})
			pending(s, "j2").Tenant = "acme"
			preempt(p)
		}, []string{"victim r1  -1"}},
		{"reclaim", reclaim, nil},
		{"reclaim without priority preemption", func(s *model.Snapshot, p *model.Plan) {
			reclaim(s, p)
			s.Facility.Policy.Preemption = false
		}, nil},
		{"reclaim with quotas off", func(s *model.Snapshot, p *model.Plan) {
			reclaim(s, p)
			s.Facility.Policy.Quotas = false
		}, []string{"victim r1  -1"}},
		{"reclaim off", func(s *model.Snapshot, p *model.Plan) {
			reclaim(s, p)
			s.Facility.Policy.Reclaim = false
		}, []string{"victim r1  -1"}},
		{"reclaim by a tenant that would exceed nominal", func(s *model.Snapshot, p *model.Plan) {
			reclaim(s, p)
			holdJ1(p)
			tenant(s, "acme").Quota["H100"] = model.Quota{Nominal: 1}
		}, []string{"victim r1  -1"}},
		{"reclaim from a tenant within nominal", func(s *model.Snapshot, p *model.Plan) {
			reclaim(s, p)
			tenant(s, "beta").Quota["H100"] = model.Quota{Nominal: 4}
		}, []string{"victim r1  -1"}},
		{"reclaim from a tenant that borrows with the plan's starts", func(s *model.Snapshot, p *model.Plan) {
			reclaim(s, p)
			tenant(s, "beta").Quota["H100"] = model.Quota{Nominal: 4}
			pending(s, "j1").Tenant = "beta" // j1 starts in the plan: beta borrows after it
		}, nil},
		{"reclaim across cohort trees", func(s *model.Snapshot, p *model.Plan) {
			reclaim(s, p)
			tenant(s, "acme").Cohort = ""
		}, []string{"victim r1  -1"}},
		{"reclaim by a job without GPUs", func(s *model.Snapshot, p *model.Plan) {
			reclaim(s, p)
			j2 := pending(s, "j2")
			j2.GPUsPerReplica, j2.CPUsPerReplica = 0, 4 // takes back no quota
		}, []string{"victim r1  -1"}},
		{"reclaim of a model the beneficiary does not accept", func(s *model.Snapshot, p *model.Plan) {
			reclaim(s, p)
			pending(s, "j2").GPUModels = []string{"A100"}
		}, []string{"victim r1  -1"}},
	})
}

// gang2 makes j2 a gang of 2×2 GPUs at level l and starts it on a and b
// while j1 waits; n4 is an H100 node at fra.
func gang2(s *model.Snapshot, p *model.Plan, l model.TopologyLevel, required bool, a, b model.Placement) {
	s.Facility.Nodes = append(s.Facility.Nodes, node("n4", "fra", "H100"))
	j2 := pending(s, "j2")
	j2.Replicas, j2.Topology = 2, model.Topology{Level: l, Required: required}
	p.Starts = []model.Start{{Job: "j2", Replicas: []model.Placement{a, b}}}
	p.Pending = []model.Pending{{Job: "j1", Code: model.ReasonCapacity}}
}

func TestVerifyShape(t *testing.T) {
	n1, n2, n3, n4 := place("n1", 4, 5), place("n2", 4, 5), place("n3", 0, 1), place("n4", 0, 1)
	nodeAt := func(s *model.Snapshot, name string) *model.Node {
		for i := range s.Facility.Nodes {
			if s.Facility.Nodes[i].Name == name {
				return &s.Facility.Nodes[i]
			}
		}
		panic("no node " + name)
	}
	runMutations(t, []mutation{
		{"one node", func(s *model.Snapshot, p *model.Plan) {
			gang2(s, p, model.LevelNode, true, place("n2", 4, 5), place("n2", 6, 7))
		}, nil},
		{"node required, two nodes", func(s *model.Snapshot, p *model.Plan) { gang2(s, p, model.LevelNode, true, n1, n2) },
			[]string{"topology j2  -1"}},
		{"nvlink required, nodes without domains", func(s *model.Snapshot, p *model.Plan) { gang2(s, p, model.LevelNVLink, true, n1, n2) },
			[]string{"topology j2  -1"}},
		{"nvlink required, one domain", func(s *model.Snapshot, p *model.Plan) {
			nodeAt(s, "n1").NVLinkDomain, nodeAt(s, "n2").NVLinkDomain = "nvl", "nvl"
			gang2(s, p, model.LevelNVLink, true, n1, n2)
		}, nil},
		{"nvlink preferred", func(s *model.Snapshot, p *model.Plan) { gang2(s, p, model.LevelNVLink, false, n1, n2) }, nil},
		{"nvlink required, topology off", func(s *model.Snapshot, p *model.Plan) {
			s.Facility.Policy.Topology = false
			gang2(s, p, model.LevelNVLink, true, n1, n2)
		}, nil},
		{"leaf required, default leaf is the rack", func(s *model.Snapshot, p *model.Plan) { gang2(s, p, model.LevelLeaf, true, n1, n2) }, nil},
		{"leaf required, named and default leaf", func(s *model.Snapshot, p *model.Plan) {
			nodeAt(s, "n2").Leaf = "par-r1"
			gang2(s, p, model.LevelLeaf, true, n1, n2)
		}, []string{"topology j2  -1"}},
		{"rack required, two racks", func(s *model.Snapshot, p *model.Plan) {
			nodeAt(s, "n2").Rack = "par-r2"
			gang2(s, p, model.LevelRack, true, n1, n2)
		}, []string{"topology j2  -1"}},
		{"hall required, one hall", func(s *model.Snapshot, p *model.Plan) {
			nodeAt(s, "n2").Rack = "par-r2"
			gang2(s, p, model.LevelHall, true, n1, n2)
		}, nil},
		{"hall required, two halls", func(s *model.Snapshot, p *model.Plan) {
			nodeAt(s, "n2").Hall = "par-h2"
			gang2(s, p, model.LevelHall, true, n1, n2)
		}, []string{"topology j2  -1"}},
		{"site required, two sites", func(s *model.Snapshot, p *model.Plan) { gang2(s, p, model.LevelSite, true, n1, n4) },
			[]string{"topology j2  -1"}},
		{"rack preferred, two sites", func(s *model.Snapshot, p *model.Plan) { gang2(s, p, model.LevelRack, false, n1, n4) },
			[]string{"site-span j2  -1"}},
		{"rack required, two sites", func(s *model.Snapshot, p *model.Plan) { gang2(s, p, model.LevelRack, true, n1, n4) },
			[]string{"topology j2  -1", "site-span j2  -1"}},
		{"two sites, topology off", func(s *model.Snapshot, p *model.Plan) {
			s.Facility.Policy.Topology = false
			gang2(s, p, model.LevelRack, true, n1, n4)
		}, []string{"site-span j2  -1"}},
		{"two sites, level any", func(s *model.Snapshot, p *model.Plan) { gang2(s, p, model.LevelAny, true, n1, n4) }, nil},
		{"two models", func(s *model.Snapshot, p *model.Plan) { gang2(s, p, model.LevelAny, false, n1, n3) },
			[]string{"gang-model j2  -1"}},
		{"two models, CPU-only replicas", func(s *model.Snapshot, p *model.Plan) {
			gang2(s, p, model.LevelAny, false, place("n1"), place("n3"))
			pending(s, "j2").GPUsPerReplica = 0
		}, nil},
		{"deployment replicas are independent", func(s *model.Snapshot, p *model.Plan) {
			gang2(s, p, model.LevelNVLink, true, n1, n3)
			pending(s, "j2").Kind = model.KindDeployment
		}, nil},
	})
}

func TestVerifyEstimatesAndDeferrals(t *testing.T) {
	deadline := func(s *model.Snapshot) {
		j := pending(s, "j2")
		j.Deadline, j.RuntimeLimit = t0+10*3600, 2*model.Hour
	}
	capped := func(s *model.Snapshot) {
		deadline(s)
		pending(s, "j2").GPUModels = []string{"H100"}
		s.Facility.Sites[0].PowerEnvelopeKW = 12
	}
	defer2 := func(p *model.Plan, until model.Time) {
		p.Deferrals = []model.Deferral{{Job: "j2", Until: until}}
		p.Pending[0].Code = model.ReasonDeferred
	}
	runMutations(t, []mutation{
		{"pending estimate unset", func(*model.Snapshot, *model.Plan) {}, nil},
		{"pending estimate now", func(_ *model.Snapshot, p *model.Plan) { p.Pending[0].EstStart = t0 }, nil},
		{"pending estimate in the past", func(_ *model.Snapshot, p *model.Plan) { p.Pending[0].EstStart = t0 - 1 },
			[]string{"est-start j2  -1"}},
		{"reservation now", func(_ *model.Snapshot, p *model.Plan) {
			p.Reservations = []model.Reservation{{Job: "j2", Nodes: []string{"n2"}, EstStart: t0}}
		}, nil},
		{"reservation in the past", func(_ *model.Snapshot, p *model.Plan) {
			p.Reservations = []model.Reservation{{Job: "j2", Nodes: []string{"n2"}, EstStart: t0 - 3600}}
		}, []string{"est-start j2  -1"}},
		{"reservation without estimate", func(_ *model.Snapshot, p *model.Plan) {
			p.Reservations = []model.Reservation{{Job: "j2", Nodes: []string{"n2"}}}
		}, []string{"est-start j2  -1"}},
		{"deferral of a flexible job", func(s *model.Snapshot, p *model.Plan) {
			deadline(s)
			defer2(p, t0+3600)
		}, nil},
		{"deferral of a job with an earliest start", func(s *model.Snapshot, p *model.Plan) {
			pending(s, "j2").EarliestStart = t0 + 3600
			defer2(p, t0+3600)
		}, nil},
		{"deferral of an inflexible job", func(_ *model.Snapshot, p *model.Plan) { defer2(p, t0+3600) },
			[]string{"inflexible j2  -1"}},
		{"deferral until now", func(s *model.Snapshot, p *model.Plan) {
			deadline(s)
			defer2(p, t0)
		}, []string{"defer-past j2  -1"}},
		{"deferral into the past", func(s *model.Snapshot, p *model.Plan) {
			deadline(s)
			defer2(p, t0-60)
		}, []string{"defer-past j2  -1"}},
		{"deferral past the latest start", func(s *model.Snapshot, p *model.Plan) {
			deadline(s)
			defer2(p, t0+8*3600+1)
		}, []string{"deferral j2  -1"}},
		// on H100 under a site envelope below its nameplate (12 of 2 ×
		// 6.6 kW), j2 may start at the lowest cap, 200 of 700 W, and keep
		// (2/7)^0.5 of full speed: its 2h of work take 3h44m30s
		{"deferral to the latest start at the lowest cap", func(s *model.Snapshot, p *model.Plan) {
			capped(s)
			defer2(p, t0+10*3600-(3*3600+44*60+30))
		}, nil},
		{"deferral past the latest start at the lowest cap", func(s *model.Snapshot, p *model.Plan) {
			capped(s)
			defer2(p, t0+10*3600-(3*3600+44*60+30)+1)
		}, []string{"deferral j2  -1"}},
		{"deferral past it where every start fits at TDP", func(s *model.Snapshot, p *model.Plan) {
			capped(s)
			s.Facility.Sites[0].PowerEnvelopeKW = 13.2 // the nameplate
			defer2(p, t0+10*3600-(3*3600+44*60+30)+1)
		}, nil},
		{"deferral past it with capping off", func(s *model.Snapshot, p *model.Plan) {
			capped(s)
			s.Facility.Policy.PowerCapping = false
			defer2(p, t0+10*3600-(3*3600+44*60+30)+1)
		}, nil},
		{"deferral past it with exponent 0", func(s *model.Snapshot, p *model.Plan) {
			capped(s)
			s.Facility.Policy.CappedSpeedExponent = 0
			defer2(p, t0+10*3600-(3*3600+44*60+30)+1)
		}, nil},
	})
}

func TestVerifyClaims(t *testing.T) {
	claim := func(s *model.Snapshot, by string) {
		s.Nodes = []model.NodeState{{Node: "n1", GPUs: []model.GPUState{{ClaimedBy: by}}}}
	}
	// j2 waits for its preemption: its claims hold
	preempting := func(p *model.Plan) { p.Pending[0].Code = model.ReasonPreempting }
	runMutations(t, []mutation{
		{"claimed by a pending job of another tenant", func(s *model.Snapshot, p *model.Plan) {
			claim(s, "j2")
			preempting(p)
		}, []string{"claimed j1 n1 0"}},
		{"claimed by a pending job of the same tenant", func(s *model.Snapshot, p *model.Plan) {
			claim(s, "j2") // the beneficiary alone: not its tenant's other jobs (its victims among them)
			pending(s, "j2").Tenant = "acme"
			preempting(p)
		}, []string{"claimed j1 n1 0"}},
		{"claimed by a pending job the core gave up on", func(s *model.Snapshot, p *model.Plan) {
			claim(s, "j2") // j2 waits for something else than its preemption: the claim holds nothing
		}, nil},
		{"claimed by the job itself", func(s *model.Snapshot, _ *model.Plan) { claim(s, "j1") }, nil},
		{"claimed by a job the plan starts elsewhere", func(s *model.Snapshot, p *model.Plan) {
			claim(s, "j2") // j2 starts on n2 in the same plan: what it left on n1 is free
			p.Pending = nil
			p.Starts = append(p.Starts, model.Start{Job: "j2", Replicas: []model.Placement{place("n2", 4, 5)}})
		}, nil},
		{"claim of a job no longer pending", func(s *model.Snapshot, _ *model.Plan) { claim(s, "gone") }, nil},
		{"claimed and dirty after another tenant", func(s *model.Snapshot, _ *model.Plan) {
			claim(s, "j1")
			s.Nodes[0].GPUs[0].Dirty, s.Nodes[0].GPUs[0].LastTenant = true, "beta"
		}, []string{"dirty j1 n1 0"}},
		{"claimed by a pending job of another tenant and down: one refusal", func(s *model.Snapshot, p *model.Plan) {
			claim(s, "j2")
			s.Nodes[0].GPUs[0].Down = true
			preempting(p)
		}, []string{"gpu-down j1 n1 0"}},
	})
}
