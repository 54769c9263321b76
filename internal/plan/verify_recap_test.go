package plan_test

import (
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// In the fixture r1 (beta) runs 4 H100 on n2 (TDP 700 W, idle 70 W,
// settable 200–700 W) and j1 starts on all 8 GPUs of n1, uncapped. With
// r1 capped at 300 W the site par draws, in watts:
//
//	before the plan  n1 1000 + 8×70 = 1560, n2 1000 + 4×300 + 4×70 = 2480: 4040
//	with j1's start  n1 1000 + 8×700 = 6600:                               9080
//	r1 recapped      + 4 × (cap − 300): 10680 uncapped, 9680 at 450 W
//
// par's hall and rack hold the same nodes, so they draw the same.

// capped caps every replica of running job id at w watts.
func capped(s *model.Snapshot, id string, w int) {
	a := running(s, id)
	for i := range a.Replicas {
		a.Replicas[i].PowerCapW = w
	}
}

// recap adds a recap of job id to cap w.
func recap(p *model.Plan, id string, w int) {
	p.Recaps = append(p.Recaps, model.Recap{Job: id, PowerCapW: w})
}

// r1At300 caps r1 at 300 W and recaps it to w.
func r1At300(w int) func(*model.Snapshot, *model.Plan) {
	return func(s *model.Snapshot, p *model.Plan) {
		capped(s, "r1", 300)
		recap(p, "r1", w)
	}
}

// then applies the mutations in order.
func then(fs ...func(*model.Snapshot, *model.Plan)) func(*model.Snapshot, *model.Plan) {
	return func(s *model.Snapshot, p *model.Plan) {
		for _, f := range fs {
			f(s, p)
		}
	}
}

// splitR1 makes r1 two replicas of 2 GPUs on n2, capped at a and b watts.
func splitR1(a, b int) func(*model.Snapshot, *model.Plan) {
	return func(s *model.Snapshot, _ *model.Plan) {
		r := running(s, "r1")
		r.Job.Replicas, r.Job.GPUsPerReplica = 2, 2
		r.Replicas = []model.Placement{
			{Node: "n2", GPUs: []int{0, 1}, PowerCapW: a},
			{Node: "n2", GPUs: []int{2, 3}, PowerCapW: b},
		}
	}
}

// runBeta adds a running beta job holding pl.
func runBeta(s *model.Snapshot, id string, pl ...model.Placement) {
	s.Running = append(s.Running, model.Allocation{Job: job(id, "beta", len(pl), len(pl[0].GPUs)), Started: t0 - 60, Replicas: pl})
}

func TestVerifyRecapJob(t *testing.T) {
	runMutations(t, []mutation{
		{"raise a cap", r1At300(450), nil},
		{"uncap", r1At300(0), nil},
		{"to the top of the range", r1At300(700), nil},
		{"job pending, not running", func(_ *model.Snapshot, p *model.Plan) { recap(p, "j2", 0) },
			[]string{"recap j2  -1"}},
		{"unknown job", func(_ *model.Snapshot, p *model.Plan) { recap(p, "zz", 0) },
			[]string{"recap zz  -1"}},
		{"recapped twice", then(r1At300(450), r1At300(500)),
			[]string{"recap r1  -1"}},
		{"terminating", then(r1At300(450), func(s *model.Snapshot, _ *model.Plan) {
			a := running(s, "r1")
			a.Terminating, a.EvictAt = true, t0+600
		}), []string{"recap r1  -1"}},
		{"preempted in the same plan", then(r1At300(450), func(_ *model.Snapshot, p *model.Plan) {
			p.Preemptions = []model.Preemption{{Victim: "r1", Beneficiary: "j2", NoticeAt: t0, EvictAt: t0.Add(10 * model.Minute)}}
		}), []string{"recap r1  -1"}},
		{"scaled up in the same plan", then(r1At300(450), func(s *model.Snapshot, p *model.Plan) {
			r := running(s, "r1").Job
			r.Kind, r.Replicas = model.KindDeployment, 2
			p.Starts = append(p.Starts, model.Start{Job: "r1", Replicas: []model.Placement{place("n2", 4, 5, 6, 7)}})
		}), []string{"recap r1  -1"}},
		{"scale-up alone is fine", func(s *model.Snapshot, p *model.Plan) {
			r := running(s, "r1").Job
			r.Kind, r.Replicas = model.KindDeployment, 2
			p.Starts = append(p.Starts, model.Start{Job: "r1", Replicas: []model.Placement{place("n2", 4, 5, 6, 7)}})
		}, nil},
	})
}

func TestVerifyRecapPolicy(t *testing.T) {
	runMutations(t, []mutation{
		{"power off", then(r1At300(450), func(s *model.Snapshot, _ *model.Plan) { s.Facility.Policy.Power = false }),
			[]string{"recap r1  -1"}},
		{"capping off", then(r1At300(450), func(s *model.Snapshot, _ *model.Plan) { s.Facility.Policy.PowerCapping = false }),
			[]string{"recap r1  -1"}},
		{"recap off", then(r1At300(450), func(s *model.Snapshot, _ *model.Plan) { s.Facility.Policy.PowerRecap = false }),
			[]string{"recap r1  -1"}},
		{"recap off, no recaps", func(s *model.Snapshot, _ *model.Plan) { s.Facility.Policy.PowerRecap = false }, nil},
	})
}

func TestVerifyRecapCap(t *testing.T) {
	runMutations(t, []mutation{
		{"above the range", r1At300(800), []string{"power-cap r1 n2 -1"}},
		{"below the range, and lower", r1At300(150), []string{"power-cap r1 n2 -1", "recap r1 n2 -1"}},
		{"model cannot cap", then(r1At300(450), func(s *model.Snapshot, _ *model.Plan) {
			m := s.Facility.GPUModels["H100"]
			m.MinCapWatts, m.MaxCapWatts = 0, 0
			s.Facility.GPUModels["H100"] = m
		}), []string{"power-cap r1 n2 -1"}},
		{"uncap a model that cannot cap", then(r1At300(0), func(s *model.Snapshot, _ *model.Plan) {
			m := s.Facility.GPUModels["H100"]
			m.MinCapWatts, m.MaxCapWatts = 0, 0
			s.Facility.GPUModels["H100"] = m
		}), nil},
		// A100: 100–400 W. A cap within H100's range is not within A100's.
		{"within one replica's model only", func(s *model.Snapshot, p *model.Plan) {
			s.Running = nil
			runBeta(s, "r2", model.Placement{Node: "n2", GPUs: []int{0}, PowerCapW: 300}, model.Placement{Node: "n3", GPUs: []int{0}, PowerCapW: 300})
			recap(p, "r2", 500)
		}, []string{"power-cap r2 n3 -1"}},
		{"lowers one replica", then(splitR1(300, 600), func(_ *model.Snapshot, p *model.Plan) { recap(p, "r1", 500) }),
			[]string{"recap r1 n2 -1"}},
		{"raises one replica, keeps the other", then(splitR1(300, 600), func(_ *model.Snapshot, p *model.Plan) { recap(p, "r1", 600) }),
			nil},
		{"raises one replica, uncaps the other", then(splitR1(300, 0), func(_ *model.Snapshot, p *model.Plan) { recap(p, "r1", 0) }),
			nil},
		{"lowers an uncapped replica", then(splitR1(300, 0), func(_ *model.Snapshot, p *model.Plan) { recap(p, "r1", 500) }),
			[]string{"recap r1 n2 -1"}},
		{"raises nothing", r1At300(300), []string{"recap r1  -1"}},
		{"uncaps what is uncapped", func(_ *model.Snapshot, p *model.Plan) { recap(p, "r1", 0) },
			[]string{"recap r1  -1"}},
		{"caps at TDP what is uncapped", func(_ *model.Snapshot, p *model.Plan) { recap(p, "r1", 700) },
			[]string{"recap r1  -1"}},
	})
}

func TestVerifyRecapPower(t *testing.T) {
	envelope := func(kw float64) func(*model.Snapshot, *model.Plan) {
		return func(s *model.Snapshot, _ *model.Plan) { s.Facility.Sites[0].PowerEnvelopeKW = kw }
	}
	hallCap := func(kw float64) func(*model.Snapshot, *model.Plan) {
		return func(s *model.Snapshot, _ *model.Plan) { s.Facility.Halls[0].PowerCapKW = kw }
	}
	rackCap := func(kw float64) func(*model.Snapshot, *model.Plan) {
		return func(s *model.Snapshot, _ *model.Plan) { s.Facility.Racks[0].PowerCapKW = kw }
	}
	hold := func(_ *model.Snapshot, p *model.Plan) { holdJ1(p) }
	runMutations(t, []mutation{
		{"recap fits the envelope", then(envelope(10), r1At300(450)), nil},
		{"recap fits exactly", then(envelope(10.68), r1At300(0)), nil},
		{"recap exceeds the envelope", then(envelope(10), r1At300(0)), []string{"power r1  -1"}},
		{"recap exceeds the hall cap", then(hallCap(10), r1At300(0)), []string{"power r1  -1"}},
		{"recap exceeds the rack cap", then(rackCap(10), r1At300(0)), []string{"power r1  -1"}},
		{"recap exceeds all three", then(envelope(10), hallCap(10), rackCap(10), r1At300(0)),
			[]string{"power r1  -1", "power r1  -1", "power r1  -1"}},
		// The start alone goes over: it is at fault, and the recap that
		// adds to it as well.
		{"start and recap exceed", then(envelope(9), r1At300(0)), []string{"power j1  -1", "power r1  -1"}},
		{"start exceeds, recap adds nothing", then(envelope(9), func(s *model.Snapshot, p *model.Plan) {
			// raises only a replica on fra's n3
			runBeta(s, "r2", model.Placement{Node: "n3", GPUs: []int{0}, PowerCapW: 200})
			recap(p, "r2", 0)
		}), []string{"power j1  -1"}},
		// par is over before the plan (4040 W of 4 kW): a recap may not
		// add to it, one elsewhere may.
		{"already over, recap adds", then(hold, envelope(4), r1At300(450)), []string{"power r1  -1"}},
		{"already over, recap elsewhere", then(hold, envelope(4), func(s *model.Snapshot, p *model.Plan) {
			capped(s, "r1", 300)
			runBeta(s, "r2", model.Placement{Node: "n3", GPUs: []int{0, 1}, PowerCapW: 200})
			recap(p, "r2", 0)
		}), nil},
		// An unreachable node counts at nameplate whatever runs there: a
		// recap adds nothing to it. par: n1 1560 + n2 1000 + 8×700 = 8160 W.
		{"unreachable node", then(hold, envelope(8), r1At300(0), func(s *model.Snapshot, _ *model.Plan) {
			s.Nodes = []model.NodeState{{Node: "n2", Condition: model.NodeUnreachable}}
		}), nil},
		{"power off: only the policy", then(envelope(5), r1At300(0), func(s *model.Snapshot, _ *model.Plan) {
			s.Facility.Policy.Power = false
		}), []string{"recap r1  -1"}},
	})
}
