package sim

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
	"github.com/carnot-dc/carnot/internal/workload"
)

const t0 model.Time = 1767225600 // 2026-01-01T00:00:00Z

func facility(nodes int) *model.Facility {
	f := &model.Facility{
		GPUModels: map[string]model.GPUModel{"H100": {TDPWatts: 700, IdleWatts: 70, MinCapWatts: 200, MaxCapWatts: 700}},
		Sites:     []model.Site{{ID: "par", Country: "FR", Jurisdictions: []string{"EU", "FR"}, PowerEnvelopeKW: 1000, PUE: 1.2}},
		Tenants:   []model.Tenant{{Name: "acme"}, {Name: "beta"}},
		PriorityClasses: []model.PriorityClass{
			{Name: "high", Value: 100}, {Name: "normal", Value: 0, Preemptible: true}},
		Policy: model.DefaultPolicy(),
	}
	f.Policy.Quotas = false
	for i := 0; i < nodes; i++ {
		f.Nodes = append(f.Nodes, model.Node{Name: fmt.Sprintf("n%d", i+1), Site: "par", GPUModel: "H100",
			GPUs: 8, CPUs: 128, MemoryGiB: 1024, BaseWatts: 1000})
	}
	return f
}

func job(id, tenant, class string, replicas, gpus int, submit model.Time, run model.Duration) *model.Job {
	return &model.Job{ID: id, Kind: model.KindJob, Tenant: tenant, PriorityClass: class, Replicas: replicas,
		MinReplicas: replicas, GPUsPerReplica: gpus, RuntimeLimit: run, SubmitTime: submit,
		Preemptible: class == "normal", CheckpointGrace: 5 * model.Minute,
		Topology: model.Topology{Level: model.LevelSite}}
}

// TestEventLog is a golden event log: queueing, completion, backfill and
// a preemption with resumption from the last checkpoint.
func TestEventLog(t *testing.T) {
	jobs := []*model.Job{
		job("a1", "acme", "normal", 1, 8, t0, 2*model.Hour),
		job("b1", "beta", "normal", 1, 8, t0, 90*model.Minute),
		job("a2", "acme", "normal", 2, 8, t0+60, model.Hour),
		job("h1", "beta", "high", 1, 8, t0.Add(40*model.Minute), 30*model.Minute),
	}
	var log bytes.Buffer
	res, err := Run(Config{Facility: facility(2), Jobs: jobs, CheckpointInterval: 30 * model.Minute}, &log)
	if err != nil {
		t.Fatal(err)
	}
	want := `2026-01-01T00:00:00Z arrive a1
2026-01-01T00:00:00Z arrive b1
2026-01-01T00:00:00Z start a1 on n1:[0 1 2 3 4 5 6 7]
2026-01-01T00:00:00Z start b1 on n2:[0 1 2 3 4 5 6 7]
2026-01-01T00:01:00Z arrive a2
2026-01-01T00:40:00Z arrive h1
2026-01-01T00:40:00Z preempt a1 for h1: priority 100 preempts 0 (evict at 2026-01-01T00:45:00Z)
2026-01-01T00:45:00Z evict a1 (lost 15m0s of work; 1h30m0s left)
2026-01-01T00:45:00Z start h1 on n1:[0 1 2 3 4 5 6 7]
2026-01-01T01:15:00Z complete h1
2026-01-01T01:15:00Z start a1 on n1:[0 1 2 3 4 5 6 7]
2026-01-01T01:30:00Z complete b1
2026-01-01T02:45:00Z complete a1
2026-01-01T02:45:00Z start a2 on n1:[0 1 2 3 4 5 6 7] n2:[0 1 2 3 4 5 6 7]
2026-01-01T03:45:00Z complete a2
`
	if d := cmp.Diff(want, log.String()); d != "" {
		t.Errorf("event log (-want +got):\n%s", d)
	}
	if r := res.Jobs[0]; r.Preemptions != 1 || r.LostGPUSeconds != 8*15*60 || r.End != t0+2*3600+45*60 {
		t.Errorf("a1 record %+v", r)
	}
}

// TestTwinOnlyAppliesTheCore records every snapshot and plan of a run on
// a generated workload, re-runs the core on each snapshot and requires
// the same plan; and every start in the log comes from such a plan. A
// twin that scheduled anything on its own would fail.
func TestTwinOnlyAppliesTheCore(t *testing.T) {
	fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 40, Sites: 2, Tenants: 6, Cohorts: 2})
	jobs := workload.Generate(fac, 300, 7, t0)
	planned := 0
	var log bytes.Buffer
	cfg := Config{Facility: fac, Jobs: jobs, OnPass: func(snap *model.Snapshot, p *model.Plan) {
		again := sched.Schedule(snap, p.Now)
		if d := cmp.Diff(*p, again); d != "" {
			t.Fatalf("plan at %s is not the core's (-applied +core):\n%s", p.Now, d)
		}
		planned += len(p.Starts)
	}}
	if _, err := Run(cfg, &log); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(log.String(), " start "); got != planned || planned == 0 {
		t.Fatalf("%d starts in the log, %d in the core's plans", got, planned)
	}
}

// TestDeterministic: the same inputs and seed give byte-identical event
// logs, summary.json and jobs.csv, with node failures and prices on.
func TestDeterministic(t *testing.T) {
	fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 40, Sites: 2, Tenants: 6, Cohorts: 2})
	grid := testGrid(fac, 1)
	run := func() string {
		var log, out bytes.Buffer
		res, err := Run(Config{Facility: fac, Jobs: workload.Generate(fac, 300, 7, t0), Grid: grid, Seed: 5,
			MTBF: 3 * model.Day}, &log)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteSummary(&out, Summarize(fac, res)); err != nil {
			t.Fatal(err)
		}
		if err := WriteJobsCSV(&out, res); err != nil {
			t.Fatal(err)
		}
		return log.String() + out.String()
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("two runs of the same inputs wrote different outputs:\n%s", cmp.Diff(a, b))
	}
}

// testGrid is 30 days of made-up hourly prices and carbon for every zone
// of fac, from t0.
func testGrid(fac *model.Facility, seed int) []model.GridSeries {
	var grid []model.GridSeries
	for _, s := range fac.Sites {
		gs := model.GridSeries{Zone: s.GridZone}
		for h := 0; h < 24*30; h++ {
			gs.Hours = append(gs.Hours, model.GridHour{Start: t0 + model.Time(h*3600),
				PriceEURMWh: float64(50 + (h*37+seed)%90 - 20), CarbonGkWh: float64(20 + (h*13)%60)})
		}
		grid = append(grid, gs)
	}
	return grid
}

// TestDeferralMeetsFeasibleDeadlines: on a facility with room for every
// job at any time, flexible jobs that the core defers to cheaper, cleaner
// hours all still end by their deadlines.
func TestDeferralMeetsFeasibleDeadlines(t *testing.T) {
	deferred := 0
	for seed := 1; seed <= 6; seed++ {
		fac := facility(40)
		fac.Sites[0].GridZone = "FR"
		fac.Sites[0].PowerEnvelopeKW = 1000
		fac.Policy.Deferral = true
		grid := testGrid(fac, seed)
		var jobs []*model.Job
		for i := 0; i < 30; i++ {
			run := model.Duration(1+(i*7+seed)%4) * model.Hour
			slack := model.Duration((i*5+seed)%13) * model.Hour
			j := job(fmt.Sprintf("f%02d", i), []string{"acme", "beta"}[i%2], "normal", 1, 8,
				t0.Add(model.Duration(i*(97+seed))*model.Minute), run)
			j.Deadline = j.SubmitTime.Add(run + slack)
			jobs = append(jobs, j)
		}
		res, err := Run(Config{Facility: fac, Jobs: jobs, Grid: grid}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Jobs {
			deferred += r.Deferrals
			if r.End == 0 || r.End > r.Job.Deadline {
				t.Errorf("seed %d: %s (submitted %s, %s of work) ended %s, after its deadline %s; deferred %d times",
					seed, r.Job.ID, r.Job.SubmitTime, r.Job.RuntimeLimit, r.End, r.Job.Deadline, r.Deferrals)
			}
		}
	}
	t.Logf("%d deferrals", deferred)
	if deferred == 0 {
		t.Fatal("nothing was deferred; the test does not exercise deferral")
	}
}

// TestEnergyConservation: on random workloads with real hourly prices,
// with and without node and GPU failures, jobs' energy (priced per job over its run) plus idle energy
// (integrated event by event) equals the site's energy within 0.1 %, and
// the site never exceeded its envelope.
func TestEnergyConservation(t *testing.T) {
	recaps, gpuKills := 0, 0
	defer func() {
		if recaps == 0 && !t.Failed() {
			t.Error("no run raised a cap: the recap runs test nothing")
		}
		if gpuKills == 0 && !t.Failed() {
			t.Error("no GPU failure killed a job: the GPU failure runs test nothing")
		}
	}()
	for seed := int64(1); seed <= 5; seed++ {
		fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 40, Sites: 2, Tenants: 6, Cohorts: 2, Seed: seed})
		grid := testGrid(fac, int(seed))
		cfg := Config{Facility: fac, Jobs: workload.Generate(fac, 200, seed, t0), Grid: grid, Seed: seed}
		if seed%2 == 0 { // node failures take nodes' power out and kill jobs midway
			cfg.MTBF, cfg.MTTR = 2*model.Day, 3*model.Hour
		}
		if seed >= 3 { // GPU failures kill jobs; a GPU down draws its idle power
			cfg.GPUMTBF = 30 * model.Day
		}
		if seed >= 4 { // events between passes
			cfg.PassEvery = model.Duration(seed) * 7 * model.Minute
		}
		fac.Policy.PowerRecap = seed%2 == 1 // caps raised mid-run: draws change in a stint
		res, err := Run(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		recaps += Summarize(fac, res).Recaps
		gpuKills += Summarize(fac, res).GPUFailures
		for id, s := range res.Sites {
			for _, f := range []struct {
				name            string
				all, jobs, idle float64
			}{
				{"IT kWh", s.All.ITkWh, s.Jobs.ITkWh, s.Idle.ITkWh},
				{"facility kWh", s.All.FacilitykWh, s.Jobs.FacilitykWh, s.Idle.FacilitykWh},
				{"cost", s.All.CostEUR, s.Jobs.CostEUR, s.Idle.CostEUR},
				{"carbon", s.All.CarbonKg, s.Jobs.CarbonKg, s.Idle.CarbonKg},
				{"unpriced kWh", s.All.UnpricedkWh, s.Jobs.UnpricedkWh, s.Idle.UnpricedkWh},
			} {
				if diff := f.all - f.jobs - f.idle; abs(diff) > 0.001*abs(f.all)+1e-9 {
					t.Errorf("seed %d site %s %s: all %.6f ≠ jobs %.6f + idle %.6f", seed, id, f.name, f.all, f.jobs, f.idle)
				}
			}
			if s.All.ITkWh <= 0 || s.Jobs.ITkWh <= 0 {
				t.Errorf("seed %d site %s: no energy (%+v)", seed, id, s)
			}
			for _, site := range fac.Sites {
				if site.ID == id && s.MaxITW > site.PowerEnvelopeKW*1000*(1+1e-9) {
					t.Errorf("seed %d site %s drew %.0f W, above its envelope %.0f kW", seed, id, s.MaxITW, site.PowerEnvelopeKW)
				}
			}
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
