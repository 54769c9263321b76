package plan_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
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
//
// With r1 lent power instead (lent(600, 300): it started at 300 W, a
// recap raised it to 600 W), par draws 4 × 300 W more before the plan:
// 5240 W, 10280 W with j1's start, and 9080 W again once a recap gives
// the 1200 W lent back (r1 to 300 W).

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

// lent runs r1's replicas at w watts, started at own watts: w − own is
// lent to it.
func lent(w, own int) func(*model.Snapshot, *model.Plan) {
	return func(s *model.Snapshot, _ *model.Plan) {
		a := running(s, "r1")
		for i := range a.Replicas {
			a.Replicas[i].PowerCapW, a.Replicas[i].StartCapW = w, own
		}
	}
}

// recapTo recaps job id to w watts.
func recapTo(id string, w int) func(*model.Snapshot, *model.Plan) {
	return func(_ *model.Snapshot, p *model.Plan) { recap(p, id, w) }
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
		{"preempted in the same plan, giving its lent power back", func(s *model.Snapshot, p *model.Plan) {
			r := running(s, "r1")
			for i := range r.Replicas {
				r.Replicas[i].PowerCapW, r.Replicas[i].StartCapW = 600, 300
			}
			recap(p, "r1", 300)
			p.Preemptions = []model.Preemption{{Victim: "r1", Beneficiary: "j2", NoticeAt: t0, EvictAt: t0.Add(10 * model.Minute)}}
		}, nil},
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
		{"lowers one replica never raised", then(splitR1(300, 600), func(_ *model.Snapshot, p *model.Plan) { recap(p, "r1", 500) }),
			[]string{"recap r1 n2 -1"}},
		{"raises one replica, keeps the other", then(splitR1(300, 600), func(_ *model.Snapshot, p *model.Plan) { recap(p, "r1", 600) }),
			nil},
		{"raises one replica, uncaps the other", then(splitR1(300, 0), func(_ *model.Snapshot, p *model.Plan) { recap(p, "r1", 0) }),
			nil},
		{"lowers an uncapped replica", then(splitR1(300, 0), func(_ *model.Snapshot, p *model.Plan) { recap(p, "r1", 500) }),
			[]string{"recap r1 n2 -1"}},
		{"changes nothing", r1At300(300), []string{"recap r1  -1"}},
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
		// The start alone goes over: it is at fault, and it alone (one
		// violation per site, hall or rack, the first start's there).
		{"start and recap exceed", then(envelope(9), r1At300(0)), []string{"power j1  -1"}},
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

// TestVerifyRecapLowers: a recap may lower a cap, giving back power lent
// to the replica, but never below the cap it started with (its own).
func TestVerifyRecapLowers(t *testing.T) {
	runMutations(t, []mutation{
		{"to exactly its own cap", then(lent(600, 300), recapTo("r1", 300)), nil},
		{"part of the way", then(lent(600, 300), recapTo("r1", 450)), nil},
		{"below its own cap", then(lent(600, 300), recapTo("r1", 250)), []string{"recap r1 n2 -1"}},
		{"uncapped on lent power, to its own cap", then(lent(0, 300), recapTo("r1", 300)), nil},
		{"uncapped on lent power, below its own cap", then(lent(0, 300), recapTo("r1", 200)), []string{"recap r1 n2 -1"}},
		{"raised further", then(lent(600, 300), recapTo("r1", 650)), nil},
		{"to the cap it has", then(lent(600, 300), recapTo("r1", 600)), []string{"recap r1  -1"}},
		{"never raised, capped", then(func(s *model.Snapshot, _ *model.Plan) { capped(s, "r1", 600) }, recapTo("r1", 450)),
			[]string{"recap r1 n2 -1"}},
		{"never raised, uncapped", recapTo("r1", 500), []string{"recap r1 n2 -1"}},
		// r1's replicas: one lent power (600 W, own 300 W), one never
		// raised at 300 W; to 450 W lowers the first, raises the second.
		{"lowers one lent replica, raises another", then(splitR1(600, 300), func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Replicas[0].StartCapW = 300
			recap(p, "r1", 450)
		}), nil},
		{"lowers one lent replica below its own", then(splitR1(600, 300), func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Replicas[0].StartCapW = 500
			recap(p, "r1", 450)
		}), []string{"recap r1 n2 -1"}},
		{"lowers a never-raised replica beside a lent one", then(splitR1(600, 600), func(s *model.Snapshot, p *model.Plan) {
			running(s, "r1").Replicas[0].StartCapW = 300
			recap(p, "r1", 450)
		}), []string{"recap r1 n2 -1"}},
	})
}

// TestVerifyRecapLowersPower: the loads are judged once the plan's
// starts and recaps, raising or lowering, all run; a start may use the
// power a recap of the same plan gives back.
func TestVerifyRecapLowersPower(t *testing.T) {
	envelope := func(kw float64) func(*model.Snapshot, *model.Plan) {
		return func(s *model.Snapshot, _ *model.Plan) { s.Facility.Sites[0].PowerEnvelopeKW = kw }
	}
	rackCap := func(kw float64) func(*model.Snapshot, *model.Plan) {
		return func(s *model.Snapshot, _ *model.Plan) { s.Facility.Racks[0].PowerCapKW = kw }
	}
	// startJ2Only starts j2 on n1:0-1 (2 × 630 W above idle) and leaves
	// j1 pending.
	startJ2Only := func(_ *model.Snapshot, p *model.Plan) {
		p.Starts = []model.Start{{Job: "j2", Replicas: []model.Placement{place("n1", 0, 1)}}}
		p.Pending = []model.Pending{{Job: "j1", Code: model.ReasonCapacity}}
	}
	runMutations(t, []mutation{
		// 10280 W with j1's start, 9080 W once r1 gives 1200 W back.
		{"start fits only with the recap", then(envelope(9.1), lent(600, 300), recapTo("r1", 300)), nil},
		{"the same start without the recap", then(envelope(9.1), lent(600, 300)), []string{"power j1  -1"}},
		{"the same on a rack", then(rackCap(9.1), lent(600, 300), recapTo("r1", 300)), nil},
		{"the same on a rack without the recap", then(rackCap(9.1), lent(600, 300)), []string{"power j1  -1"}},
		{"the recap gives back too little", then(envelope(9.5), lent(600, 300), recapTo("r1", 450)), []string{"power j1  -1"}},
		{"exactly at the limit", then(envelope(9.08), lent(600, 300), recapTo("r1", 300)), nil},
		// par is over before the plan (lent(700, 300): 5640 W of 5 kW).
		// r1 gives 1600 W back, j2 takes 1260 W: 5300 W, still over but
		// lower than before.
		{"already over, the plan lowers it", then(envelope(5), lent(700, 300), recapTo("r1", 300), startJ2Only), nil},
		// r1 gives back 400 W only (to 600 W): 6500 W.
		{"already over, the plan adds", then(envelope(5), lent(700, 300), recapTo("r1", 600), startJ2Only),
			[]string{"power j2  -1"}},
		// One recap lowers, another raises more than it frees, with no
		// start there: the raising recap is at fault.
		{"a raise outweighs a lowering", then(envelope(4.5), lent(600, 300), func(s *model.Snapshot, p *model.Plan) {
			holdJ1(p)
			runBeta(s, "r2", model.Placement{Node: "n1", GPUs: []int{0, 1, 2, 3}, PowerCapW: 200})
			recap(p, "r1", 300) // −1200 W
			recap(p, "r2", 0)   // +2000 W: 6560 W after, 5760 W before
		}), []string{"power r2  -1"}},
		{"a raise within a lowering", then(envelope(4.5), lent(600, 300), func(s *model.Snapshot, p *model.Plan) {
			holdJ1(p)
			runBeta(s, "r2", model.Placement{Node: "n1", GPUs: []int{0, 1, 2, 3}, PowerCapW: 200})
			recap(p, "r1", 300) // −1200 W
			recap(p, "r2", 450) // +1000 W: 5560 W after, 5760 W before
		}), nil},
		// A start that takes no GPU adds nothing: a recap that goes over
		// where it lands is at fault.
		{"a CPU-only start beside a raise", then(envelope(4.5), func(s *model.Snapshot, p *model.Plan) {
			pending(s, "j2").GPUsPerReplica = 0
			p.Starts = []model.Start{{Job: "j2", Replicas: []model.Placement{place("n1")}}}
			p.Pending = []model.Pending{{Job: "j1", Code: model.ReasonCapacity}}
		}, r1At300(450)), []string{"power r1  -1"}},
	})
}

// TestVerifyRecapMessages: what a refused recap says.
func TestVerifyRecapMessages(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*model.Snapshot, *model.Plan)
		want   string
	}{
		{"below the cap it started with", then(lent(600, 300), recapTo("r1", 250)),
			"recap: job r1: node n2: recap to 250 W lowers the replica on n2 below the 300 W it started with"},
		{"below a cap never raised", then(func(s *model.Snapshot, _ *model.Plan) { capped(s, "r1", 600) }, recapTo("r1", 450)),
			"recap: job r1: node n2: recap to 450 W lowers the replica on n2 below its 600 W cap, which no recap raised: it has no lent power to give back"},
		{"below TDP, never raised", recapTo("r1", 500),
			"recap: job r1: node n2: recap to 500 W lowers the replica on n2 below its TDP (700 W, uncapped), which no recap raised: it has no lent power to give back"},
		{"two replicas too low", then(splitR1(600, 600), recapTo("r1", 450)),
			"recap: job r1: node n2: recap to 450 W lowers the replica on n2 below its 600 W cap, which no recap raised: it has no lent power to give back (2 replicas lowered so)"},
		{"no change", then(lent(600, 300), recapTo("r1", 600)),
			"recap: job r1: recap to 600 W changes no replica's cap (each may draw that much already)"},
		{"power", then(func(s *model.Snapshot, _ *model.Plan) { s.Facility.Sites[0].PowerEnvelopeKW = 4.5 },
			func(_ *model.Snapshot, p *model.Plan) { holdJ1(p) }, r1At300(450)),
			"power: job r1: site par would draw 4640 W once the plan's recaps raise caps (4040 W before the plan), limit 4500 W"},
		// par draws 5500 W before the plan (r2 holds n1:0-1 at 200 W);
		// j1 takes 5040 W and r1 gives 1200 W back: 9340 W, within the
		// envelope; r2's raise adds 1000 W on n1 (and its replica on fra's
		// n3 nothing to par).
		{"power, the raise at fault", then(func(s *model.Snapshot, _ *model.Plan) { s.Facility.Sites[0].PowerEnvelopeKW = 9.5 },
			lent(600, 300), recapTo("r1", 300), func(s *model.Snapshot, p *model.Plan) {
				runBeta(s, "r2", model.Placement{Node: "n1", GPUs: []int{0, 1}, PowerCapW: 200}, model.Placement{Node: "n3", GPUs: []int{0, 1}, PowerCapW: 200})
				p.Starts[0].Replicas = []model.Placement{place("n1", 2, 3, 4, 5), place("n2", 4, 5, 6, 7)}
				recap(p, "r2", 0)
			}),
			"power: job r2: site par would draw 10340 W once the plan's recaps raise caps (9340 W without the raises, 5500 W before the plan), limit 9500 W"},
		{"power with a lowering", then(func(s *model.Snapshot, _ *model.Plan) { s.Facility.Sites[0].PowerEnvelopeKW = 9.5 },
			lent(600, 300), recapTo("r1", 450)),
			"power: job j1: site par would draw 9680 W (5240 W before the plan), limit 9500 W"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap, p := fixture()
			tt.mutate(snap, p)
			var got []string
			for _, v := range plan.Violations(plan.Verify(snap, p)) {
				got = append(got, v.Error())
			}
			if diff := cmp.Diff([]string{tt.want}, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}
