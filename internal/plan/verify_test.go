package plan_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
)

// key renders a violation as "code job node gpu" for comparison.
func key(v *plan.Violation) string {
	return fmt.Sprintf("%s %s %s %d", v.Code, v.Job, v.Node, v.GPU)
}

func keys(err error) []string {
	var out []string
	for _, v := range plan.Violations(err) {
		out = append(out, key(v))
	}
	return out
}

func running(snap *model.Snapshot, id string) *model.Allocation {
	for i := range snap.Running {
		if snap.Running[i].Job.ID == id {
			return &snap.Running[i]
		}
	}
	panic("no running job " + id)
}

func pending(snap *model.Snapshot, id string) *model.Job {
	for _, j := range snap.Pending {
		if j.ID == id {
			return j
		}
	}
	panic("no pending job " + id)
}

// startJ2 moves j2 from the plan's pending list to a start at pl.
func startJ2(p *model.Plan, pl ...model.Placement) {
	p.Pending = nil
	p.Starts = append(p.Starts, model.Start{Job: "j2", Replicas: pl})
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*model.Snapshot, *model.Plan)
		want   []string
	}{
		{"valid", func(*model.Snapshot, *model.Plan) {}, nil},
		{"pending job missing", func(_ *model.Snapshot, p *model.Plan) { p.Pending = nil },
			[]string{"coverage j2  -1"}},
		{"started and pending", func(_ *model.Snapshot, p *model.Plan) {
			p.Pending = append(p.Pending, model.Pending{Job: "j1", Code: model.ReasonCapacity})
		}, []string{"coverage j1  -1"}},
		{"pending twice", func(_ *model.Snapshot, p *model.Plan) { p.Pending = append(p.Pending, p.Pending[0]) },
			[]string{"coverage j2  -1"}},
		{"started twice", func(_ *model.Snapshot, p *model.Plan) {
			p.Starts = append(p.Starts, model.Start{Job: "j1", Replicas: []model.Placement{place("n3", 0, 1, 2, 3), place("n3", 4, 5, 6, 7)}})
			p.Starts[1].Job = "j1"
		}, []string{"coverage j1  -1", "sovereignty j1 n3 -1", "sovereignty j1 n3 -1"}},
		{"unknown job", func(_ *model.Snapshot, p *model.Plan) {
			p.Starts = append(p.Starts, model.Start{Job: "zz", Replicas: []model.Placement{place("n3", 0)}})
			p.Pending = append(p.Pending, model.Pending{Job: "yy"})
		}, []string{"unknown-job zz  -1", "unknown-job yy  -1"}},
		{"start of running gang", func(_ *model.Snapshot, p *model.Plan) {
			p.Starts = append(p.Starts, model.Start{Job: "r1", Replicas: []model.Placement{place("n3", 0, 1, 2, 3)}})
		}, []string{"running r1  -1"}},
		{"unknown node", func(_ *model.Snapshot, p *model.Plan) { p.Starts[0].Replicas[1].Node = "n9" },
			[]string{"node j1 n9 -1"}},
		{"draining node", func(s *model.Snapshot, _ *model.Plan) {
			s.Nodes = []model.NodeState{{Node: "n1", Condition: model.NodeDraining}}
		}, []string{"condition j1 n1 -1", "condition j1 n1 -1"}},
		{"avoided node", func(s *model.Snapshot, _ *model.Plan) {
			s.AvoidNodes = map[string][]string{"j1": {"n1"}, "j2": {"n2"}}
		}, []string{"avoided j1 n1 -1", "avoided j1 n1 -1"}},
		{"down node", func(s *model.Snapshot, p *model.Plan) {
			s.Nodes = []model.NodeState{{Node: "n1", Condition: model.NodeDown}}
			p.Starts[0].Replicas = p.Starts[0].Replicas[:1]
			p.Starts[0].Replicas = append(p.Starts[0].Replicas, place("n2", 4, 5, 6, 7))
		}, []string{"condition j1 n1 -1"}},
		{"gpu out of range", func(_ *model.Snapshot, p *model.Plan) { p.Starts[0].Replicas[1].GPUs = []int{4, 5, 6, 8} },
			[]string{"gpu j1 n1 8"}},
		{"gpu repeated", func(_ *model.Snapshot, p *model.Plan) { p.Starts[0].Replicas[1].GPUs = []int{4, 4, 5, 6} },
			[]string{"gpu j1 n1 4"}},
		{"gpu held by running job", func(_ *model.Snapshot, p *model.Plan) {
			p.Starts[0].Replicas = []model.Placement{place("n2", 2, 3, 4, 5), place("n1", 0, 1, 2, 3)}
		}, []string{"gpu-conflict j1 n2 2", "gpu-conflict j1 n2 3"}},
		{"gpu held by terminating job", func(s *model.Snapshot, p *model.Plan) {
			a := running(s, "r1")
			a.Terminating, a.EvictAt = true, t0+600
			startJ2(p, place("n2", 3, 4))
		}, []string{"gpu-conflict j2 n2 3"}},
		{"gpu held by another start", func(_ *model.Snapshot, p *model.Plan) { startJ2(p, place("n1", 7, 6)) },
			[]string{"gpu-conflict j2 n1 7", "gpu-conflict j2 n1 6"}},
		{"gang missing replica", func(_ *model.Snapshot, p *model.Plan) { p.Starts[0].Replicas = p.Starts[0].Replicas[:1] },
			[]string{"gang j1  -1"}},
		{"gang replica size", func(_ *model.Snapshot, p *model.Plan) { p.Starts[0].Replicas[1].GPUs = []int{4, 5, 6} },
			[]string{"gang j1 n1 -1"}},
		{"gang without placements", func(_ *model.Snapshot, p *model.Plan) { p.Starts[0].Replicas = nil },
			[]string{"gang j1  -1"}},
		{"model not accepted", func(s *model.Snapshot, _ *model.Plan) { pending(s, "j1").GPUModels = []string{"A100", "H200"} },
			[]string{"model j1 n1 -1", "model j1 n1 -1"}},
		{"model accepted among several", func(s *model.Snapshot, _ *model.Plan) { pending(s, "j1").GPUModels = []string{"A100", "H100"} },
			nil},
		{"cpu exceeded", func(s *model.Snapshot, _ *model.Plan) { pending(s, "j1").CPUsPerReplica = 33 },
			[]string{"cpu j1 n1 -1"}},
		{"cpu exceeded with running", func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Job.CPUsPerReplica = 60
			startJ2(p, place("n2", 4, 5))
		}, []string{"cpu j2 n2 -1"}},
		{"memory exceeded", func(s *model.Snapshot, _ *model.Plan) { pending(s, "j1").MemGiBPerReplica = 300 },
			[]string{"memory j1 n1 -1"}},
		{"tenant jurisdiction", func(_ *model.Snapshot, p *model.Plan) {
			p.Starts[0].Replicas = []model.Placement{place("n3", 0, 1, 2, 3), place("n3", 4, 5, 6, 7)}
		}, []string{"sovereignty j1 n3 -1", "sovereignty j1 n3 -1"}},
		{"job narrows jurisdiction", func(s *model.Snapshot, p *model.Plan) {
			pending(s, "j2").Jurisdictions = []string{"DE"}
			startJ2(p, place("n2", 4, 5))
		}, []string{"sovereignty j2 n2 -1"}},
		{"dirty gpu of another tenant", func(s *model.Snapshot, _ *model.Plan) {
			s.Nodes = []model.NodeState{{Node: "n1", GPUs: []model.GPUState{{LastTenant: "beta", Dirty: true}}}}
		}, []string{"dirty j1 n1 0"}},
		{"dirty gpu of the same tenant", func(s *model.Snapshot, _ *model.Plan) {
			s.Nodes = []model.NodeState{{Node: "n1", GPUs: []model.GPUState{{LastTenant: "acme", Dirty: true}}}}
		}, nil},
		{"dirty gpu without a last tenant", func(s *model.Snapshot, _ *model.Plan) {
			s.Nodes = []model.NodeState{{Node: "n1", GPUs: []model.GPUState{{}, {Dirty: true}}}}
		}, []string{"dirty j1 n1 1"}},
		{"gpu down", func(s *model.Snapshot, _ *model.Plan) {
			s.Nodes = []model.NodeState{{Node: "n1", GPUs: []model.GPUState{{}, {}, {Down: true}}}}
		}, []string{"gpu-down j1 n1 2"}},
		{"gpu down, its own tenant's dirty", func(s *model.Snapshot, _ *model.Plan) {
			s.Nodes = []model.NodeState{{Node: "n1", GPUs: []model.GPUState{{LastTenant: "acme", Dirty: true, Down: true}}}}
		}, []string{"gpu-down j1 n1 0"}},
		{"gpu down, dirty of no tenant: one refusal", func(s *model.Snapshot, _ *model.Plan) {
			s.Nodes = []model.NodeState{{Node: "n1", GPUs: []model.GPUState{{Dirty: true, Down: true}}}}
		}, []string{"gpu-down j1 n1 0"}},
		{"gpu down, another tenant's dirty: one refusal", func(s *model.Snapshot, _ *model.Plan) {
			s.Nodes = []model.NodeState{{Node: "n1", GPUs: []model.GPUState{{LastTenant: "beta", Dirty: true, Down: true}}}}
		}, []string{"gpu-down j1 n1 0"}},
		{"clean gpu of another tenant", func(s *model.Snapshot, _ *model.Plan) {
			s.Nodes = []model.NodeState{{Node: "n1", GPUs: []model.GPUState{{LastTenant: "beta"}}}}
		}, nil},
		{"exclusive job shares", func(s *model.Snapshot, p *model.Plan) {
			pending(s, "j2").ExclusiveNode = true
			startJ2(p, place("n2", 4, 5))
		}, []string{"exclusive j2 n2 -1"}},
		{"job joins exclusive running job", func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Job.ExclusiveNode = true
			startJ2(p, place("n2", 4, 5))
		}, []string{"exclusive j2 n2 -1"}},
		{"exclusive gang alone on its node", func(s *model.Snapshot, _ *model.Plan) { pending(s, "j1").ExclusiveNode = true },
			nil},
		{"exclusive tenant shares", func(s *model.Snapshot, p *model.Plan) {
			pending(s, "j2").Tenant = "solo"
			startJ2(p, place("n2", 4, 5))
		}, []string{"exclusive j2 n2 -1"}},
		{"other tenant joins exclusive tenant", func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Job.Tenant = "solo"
			startJ2(p, place("n2", 4, 5))
		}, []string{"exclusive j2 n2 -1"}},
		{"same tenant shares", func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Job.Tenant = "solo"
			pending(s, "j2").Tenant = "solo"
			startJ2(p, place("n2", 4, 5))
		}, nil},
		{"site envelope", func(s *model.Snapshot, _ *model.Plan) { s.Facility.Sites[0].PowerEnvelopeKW = 10 },
			[]string{"power j1  -1"}},
		{"site envelope, power policy off", func(s *model.Snapshot, _ *model.Plan) {
			s.Facility.Sites[0].PowerEnvelopeKW = 10
			s.Facility.Policy.Power = false
		}, nil},
		{"site envelope met by capping", func(s *model.Snapshot, p *model.Plan) {
			s.Facility.Sites[0].PowerEnvelopeKW = 7
			for i := range p.Starts[0].Replicas {
				p.Starts[0].Replicas[i].PowerCapW = 200
			}
		}, nil},
		{"site over envelope without starts", func(s *model.Snapshot, p *model.Plan) {
			s.Facility.Sites[0].PowerEnvelopeKW = 1
			p.Starts = nil
			p.Pending = append(p.Pending, model.Pending{Job: "j1", Code: model.ReasonPower})
		}, nil},
		{"site over envelope, start adds no power", func(s *model.Snapshot, p *model.Plan) {
			s.Facility.Sites[0].PowerEnvelopeKW = 1
			pending(s, "j2").GPUsPerReplica = 0
			p.Starts = []model.Start{{Job: "j2", Replicas: []model.Placement{{Node: "n1"}}}}
			p.Pending = []model.Pending{{Job: "j1", Code: model.ReasonPower}}
		}, nil},
		{"hall cap", func(s *model.Snapshot, _ *model.Plan) { s.Facility.Halls[0].PowerCapKW = 10 },
			[]string{"power j1  -1"}},
		{"rack cap", func(s *model.Snapshot, _ *model.Plan) { s.Facility.Racks[0].PowerCapKW = 10 },
			[]string{"power j1  -1"}},
		{"power cap below range", func(_ *model.Snapshot, p *model.Plan) { p.Starts[0].Replicas[0].PowerCapW = 150 },
			[]string{"power-cap j1 n1 -1"}},
		{"power cap above range", func(_ *model.Snapshot, p *model.Plan) { p.Starts[0].Replicas[1].PowerCapW = 701 },
			[]string{"power-cap j1 n1 -1"}},
		{"before earliest start", func(s *model.Snapshot, _ *model.Plan) { pending(s, "j1").EarliestStart = t0 + 1 },
			[]string{"not-before j1  -1"}},
		{"at earliest start", func(s *model.Snapshot, _ *model.Plan) { pending(s, "j1").EarliestStart = t0 }, nil},
	}
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

func TestVerifyDeployment(t *testing.T) {
	tests := []struct {
		name           string
		running, start int
		pending        bool
		want           []string
	}{
		{"min replicas", 0, 2, false, nil},
		{"all replicas", 0, 4, false, nil},
		{"below min", 0, 1, true, []string{"gang d1  -1"}},
		{"below min, started and pending", 0, 1, true, []string{"gang d1  -1"}},
		{"scale up from running", 1, 1, true, nil},
		{"above replicas with running", 1, 4, false, []string{"gang d1  -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, p := fixture()
			d := job("d1", "beta", 4, 1)
			d.Kind, d.MinReplicas, d.CPUsPerReplica = model.KindDeployment, 2, 1
			snap.Pending = append(snap.Pending, d)
			if tt.running > 0 {
				snap.Running = append(snap.Running, model.Allocation{Job: d, Started: t0 - 60, Replicas: []model.Placement{place("n3", 7)}})
			}
			var pls []model.Placement
			for i := 0; i < tt.start; i++ {
				pls = append(pls, place("n3", i))
			}
			p.Starts = append(p.Starts, model.Start{Job: "d1", Replicas: pls})
			if tt.pending {
				p.Pending = append(p.Pending, model.Pending{Job: "d1", Code: model.ReasonCapacity})
			}
			if diff := cmp.Diff(tt.want, keys(plan.Verify(snap, p))); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyPreemptionsDeferralsReservations(t *testing.T) {
	notice := func(victim string, grace model.Duration) model.Preemption {
		return model.Preemption{Victim: victim, Beneficiary: "j2", NoticeAt: t0, EvictAt: t0.Add(grace)}
	}
	tests := []struct {
		name   string
		mutate func(*model.Snapshot, *model.Plan)
		want   []string
	}{
		{"valid preemption", func(_ *model.Snapshot, p *model.Plan) {
			p.Preemptions = []model.Preemption{notice("r1", 10*model.Minute)}
		}, nil},
		{"victim not running", func(_ *model.Snapshot, p *model.Plan) {
			p.Preemptions = []model.Preemption{notice("j2", 0)}
		}, []string{"preemption j2  -1"}},
		{"victim not preemptible", func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Job.Preemptible = false
			p.Preemptions = []model.Preemption{notice("r1", 10*model.Minute)}
		}, []string{"preemption r1  -1"}},
		{"victim already terminating", func(s *model.Snapshot, p *model.Plan) {
			a := running(s, "r1")
			a.Terminating, a.EvictAt = true, t0+60
			p.Preemptions = []model.Preemption{notice("r1", 10*model.Minute)}
		}, []string{"preemption r1  -1"}},
		{"victim twice", func(_ *model.Snapshot, p *model.Plan) {
			p.Preemptions = []model.Preemption{notice("r1", 10*model.Minute), notice("r1", 10*model.Minute)}
		}, []string{"preemption r1  -1"}},
		{"evict before grace", func(_ *model.Snapshot, p *model.Plan) {
			p.Preemptions = []model.Preemption{notice("r1", 5*model.Minute)}
		}, []string{"preemption r1  -1"}},
		{"notice not now", func(_ *model.Snapshot, p *model.Plan) {
			pr := notice("r1", 10*model.Minute)
			pr.NoticeAt, pr.EvictAt = t0+60, t0+660
			p.Preemptions = []model.Preemption{pr}
		}, []string{"preemption r1  -1"}},
		{"beneficiary not pending", func(_ *model.Snapshot, p *model.Plan) {
			pr := notice("r1", 10*model.Minute)
			pr.Beneficiary = "zz"
			p.Preemptions = []model.Preemption{pr}
		}, []string{"preemption r1  -1"}},
		{"preemption off", func(s *model.Snapshot, p *model.Plan) {
			s.Facility.Policy.Preemption, s.Facility.Policy.Reclaim = false, false
			p.Preemptions = []model.Preemption{notice("r1", 10*model.Minute)}
		}, []string{"preemption   -1", "victim r1  -1"}},
		{"rate limit", func(s *model.Snapshot, p *model.Plan) {
			s.Facility.Policy.PreemptionRateLimit = 2
			s.RecentPreemptions = []model.Time{t0 - 7200, t0 - 600, t0 - 60}
			p.Preemptions = []model.Preemption{notice("r1", 10*model.Minute)}
		}, []string{"rate-limit   -1"}},
		{"rate limit, old preemptions expired", func(s *model.Snapshot, p *model.Plan) {
			s.Facility.Policy.PreemptionRateLimit = 2
			s.RecentPreemptions = []model.Time{t0 - 7200, t0 - 3600, t0 - 60}
			p.Preemptions = []model.Preemption{notice("r1", 10*model.Minute)}
		}, nil},
		{"deferral within deadline", func(s *model.Snapshot, p *model.Plan) {
			j := pending(s, "j2")
			j.Deadline, j.RuntimeLimit = t0+10*3600, 2*model.Hour
			p.Deferrals = []model.Deferral{{Job: "j2", Until: t0 + 8*3600}}
		}, nil},
		{"deferral past deadline", func(s *model.Snapshot, p *model.Plan) {
			j := pending(s, "j2")
			j.Deadline, j.RuntimeLimit = t0+10*3600, 2*model.Hour
			p.Deferrals = []model.Deferral{{Job: "j2", Until: t0 + 8*3600 + 1}}
		}, []string{"deferral j2  -1"}},
		{"deferral of a started job", func(s *model.Snapshot, p *model.Plan) {
			pending(s, "j1").Deadline = t0 + 10*3600
			p.Deferrals = []model.Deferral{{Job: "j1", Until: t0 + 3600}}
		}, []string{"deferral j1  -1"}},
		{"deferral of an unknown job", func(_ *model.Snapshot, p *model.Plan) {
			p.Deferrals = []model.Deferral{{Job: "r1", Until: t0 + 3600}}
		}, []string{"deferral r1  -1"}},
		{"reservation", func(_ *model.Snapshot, p *model.Plan) {
			p.Reservations = []model.Reservation{{Job: "j2", Nodes: []string{"n2"}, EstStart: t0 + 3600}}
		}, nil},
		{"reservation of a started job", func(_ *model.Snapshot, p *model.Plan) {
			p.Reservations = []model.Reservation{{Job: "j1", Nodes: []string{"n2"}, EstStart: t0 + 3600}}
		}, []string{"reservation j1  -1"}},
		{"reservation on unknown node", func(_ *model.Snapshot, p *model.Plan) {
			p.Reservations = []model.Reservation{{Job: "j2", Nodes: []string{"n9"}, EstStart: t0 + 3600}}
		}, []string{"reservation j2 n9 -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, p := fixture()
			tt.mutate(snap, p)
			if diff := cmp.Diff(tt.want, keys(plan.Verify(snap, p))); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyErrorsAreViolations(t *testing.T) {
	snap, p := fixture()
	p.Pending = nil
	err := plan.Verify(snap, p)
	var v *plan.Violation
	if !errors.As(err, &v) || v.Code != plan.CodeCoverage {
		t.Fatalf("errors.As(%v) = %v, want a coverage violation", err, v)
	}
	if got, want := err.Error(), "coverage: job j2: pending job missing from the plan"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestVerifyDoesNotMutate(t *testing.T) {
	snap, p := fixture()
	p.Pending = nil // provoke violations
	want, wantPlan := fixture()
	wantPlan.Pending = nil
	_ = plan.Verify(snap, p)
	if diff := cmp.Diff(want, snap); diff != "" {
		t.Errorf("snapshot changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(wantPlan, p); diff != "" {
		t.Errorf("plan changed (-before +after):\n%s", diff)
	}
}
