package sim

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

// gpuStart is a replica the core started, with when.
type gpuStart struct {
	at   model.Time
	job  string
	node string
	gpus []int
}

// runGPUFails runs cfg, recording every replica the core starts and the
// event log.
func runGPUFails(t *testing.T, cfg Config) (*Result, []gpuStart, string) {
	t.Helper()
	var starts []gpuStart
	cfg.OnPass = func(snap *model.Snapshot, p *model.Plan) {
		for _, s := range p.Starts {
			for _, r := range s.Replicas {
				starts = append(starts, gpuStart{p.Now, s.Job, r.Node, slices.Clone(r.GPUs)})
			}
		}
	}
	var log bytes.Buffer
	res, err := Run(cfg, &log)
	if err != nil {
		t.Fatal(err)
	}
	return res, starts, log.String()
}

// downAt is the GPU outage of node's GPU gpu open at now, if any.
func downAt(res *Result, node string, gpu int, now model.Time) (GPUOutage, bool) {
	for _, o := range res.GPUOutages {
		if o.Node == node && o.GPU == gpu && o.Start <= now && now < o.End {
			return o, true
		}
	}
	return GPUOutage{}, false
}

// A GPU failure kills exactly the job with a replica on that GPU: eight
// one-GPU jobs share a node, and at each failure the one on the GPU is
// killed and the other seven run on. The test replays the event log,
// keeping who holds each GPU (start, complete, kill lines): every
// gpu-fail line of a held GPU comes right after the one kill of its
// holder, and one of a free GPU kills nothing. Each job's count and
// the summary's match the log.
func TestGPUFailureKillsOnlyTheJobOnIt(t *testing.T) {
	placed := regexp.MustCompile(`(\S+):\[([0-9 ]*)\]`)
	kills, idle := 0, 0
	for seed := int64(1); seed <= 6; seed++ {
		var jobs []*model.Job
		for i := 0; i < 8; i++ {
			jobs = append(jobs, job(fmt.Sprintf("j%d", i), "acme", "normal", 1, 1, t0, 20*model.Hour))
		}
		jobs = append(jobs, job("late", "beta", "normal", 1, 1, t0.Add(50*model.Hour), model.Hour))
		var log bytes.Buffer
		res, err := Run(Config{Facility: facility(1), Jobs: jobs, Seed: seed,
			GPUMTBF: 4 * model.Day, GPUMTTR: 3 * model.Hour, CheckpointInterval: 30 * model.Minute}, &log)
		if err != nil {
			t.Fatal(err)
		}
		holder := map[string]string{} // node:gpu → job
		held := map[string][]string{} // job → its node:gpu
		leave := func(j string) {
			for _, g := range held[j] {
				delete(holder, g)
			}
			delete(held, j)
		}
		got := map[string]int{}
		killed := "" // the job killed by the gpu-fail line to come
		for _, l := range strings.Split(log.String(), "\n") {
			f := strings.Fields(l)
			if len(f) < 3 {
				continue
			}
			switch f[1] {
			case "start":
				for _, m := range placed.FindAllStringSubmatch(l, -1) {
					for _, g := range strings.Fields(m[2]) {
						holder[m[1]+":"+g] = f[2]
						held[f[2]] = append(held[f[2]], m[1]+":"+g)
					}
				}
			case "complete", "evict", "fail-kill":
				leave(f[2])
			case "gpu-fail-kill":
				if killed != "" {
					t.Errorf("seed %d: %s and %s killed by one GPU failure", seed, killed, f[2])
				}
				if gpu := f[4]; holder[gpu] != f[2] {
					t.Errorf("seed %d: %q: %s holds %s", seed, l, holder[gpu], gpu)
				}
				killed = f[2]
				leave(f[2])
			case "gpu-fail":
				switch {
				case killed != "":
					kills++
					got[killed]++
				case holder[f[2]] != "":
					t.Errorf("seed %d: %q killed nothing; %s holds it", seed, l, holder[f[2]])
				default:
					idle++
				}
				killed = ""
			}
		}
		for _, j := range res.Jobs {
			if j.GPUFailures != got[j.Job.ID] || j.Failures != 0 {
				t.Errorf("seed %d: %s counts %d GPU failure kills and %d node ones; the log has %d GPU ones",
					seed, j.Job.ID, j.GPUFailures, j.Failures, got[j.Job.ID])
			}
			if j.End == 0 {
				t.Errorf("seed %d: %s never finished", seed, j.Job.ID)
			}
			// without preemptions all the work it lost, GPU failures threw away
			if j.Preemptions == 0 && j.GPUFailureLost != j.LostGPUSeconds || j.GPUFailures == 0 && j.GPUFailureLost != 0 {
				t.Errorf("seed %d: %s lost %g GPU-s, %g of them to its %d GPU failure kills", seed, j.Job.ID, j.LostGPUSeconds, j.GPUFailureLost, j.GPUFailures)
			}
		}
		if s := Summarize(facility(1), res); s.GPUFailures != sumMap(got) || s.Failures != 0 {
			t.Errorf("seed %d: summary counts %d GPU failure kills, the log %d", seed, s.GPUFailures, sumMap(got))
		}
	}
	t.Logf("%d kills, %d failures of free GPUs", kills, idle)
	if kills == 0 || idle == 0 {
		t.Fatalf("%d kills and %d failures of free GPUs; the test needs both", kills, idle)
	}
}

func sumMap(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// The core places nothing on a GPU down: no replica starts on a GPU
// while it is down (the snapshot says so, and plan.Verify, run on every
// plan, refuses gpu-down), and a job that needs the whole node waits for
// the repair, then finishes: the run goes on while it waits, though no
// node is down and no event of the workload is to come.
func TestDownGPUTakesNoWork(t *testing.T) {
	waited := 0
	for seed := int64(1); seed <= 12; seed++ {
		jobs := []*model.Job{job("w", "acme", "normal", 1, 8, t0, 6*model.Hour)}
		res, starts, log := runGPUFails(t, Config{Facility: facility(1), Jobs: jobs, Seed: seed,
			GPUMTBF: 3 * model.Day, GPUMTTR: 5 * model.Hour, CheckpointInterval: 20 * model.Minute})
		for _, s := range starts {
			for _, g := range s.gpus {
				if o, down := downAt(res, s.node, g, s.at); down {
					t.Errorf("seed %d: %s started on %s:%d at %s, down from %s to %s\n%s", seed, s.job, s.node, g, s.at, o.Start, o.End, log)
				}
			}
			for _, o := range res.GPUOutages {
				if o.End == s.at {
					waited++ // started at a repair: it waited for it
				}
			}
		}
		w := res.Jobs[0]
		if w.End == 0 || res.End != w.End {
			t.Errorf("seed %d: w ends %s, the run %s; want it finished, and the run with it\n%s", seed, w.End, res.End, log)
		}
	}
	if waited == 0 {
		t.Fatal("w never started at a repair; the test needs it to wait for one")
	}
}

// The core sees every GPU down and no other: at every pass, the
// snapshot's down GPUs are exactly those whose outage is open.
func TestSnapshotListsGPUsDown(t *testing.T) {
	fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 6, Sites: 1, Tenants: 2, Cohorts: 1, Seed: 4})
	type seen struct {
		at   model.Time
		down []string
	}
	var passes []seen
	cfg := Config{Facility: fac, Jobs: workload.Generate(fac, 40, 4, t0), Seed: 3, MTBF: 4 * model.Day,
		GPUMTBF: 20 * model.Day, GPUMTTR: 6 * model.Hour}
	cfg.OnPass = func(snap *model.Snapshot, p *model.Plan) {
		var down []string
		for _, st := range snap.Nodes {
			for g, gs := range st.GPUs {
				if gs.Down {
					down = append(down, fmt.Sprintf("%s:%d", st.Node, g))
				}
			}
		}
		passes = append(passes, seen{p.Now, down})
	}
	res, err := Run(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.GPUOutages) == 0 {
		t.Fatal("no GPU failed; the test needs some")
	}
	for _, p := range passes {
		if p.at == res.End {
			continue // an outage open at the end ends there too
		}
		var want []string
		for _, o := range res.GPUOutages {
			if o.Start <= p.at && p.at < o.End {
				want = append(want, fmt.Sprintf("%s:%d", o.Node, o.GPU))
			}
		}
		slices.Sort(want)
		slices.Sort(p.down)
		if !slices.Equal(want, p.down) {
			t.Fatalf("pass at %s: the snapshot has %v down, the outages %v", p.at, p.down, want)
		}
	}
	for _, g := range res.GPUOutages { // a GPU does not fail while its node is down
		for _, o := range res.Outages {
			if o.Node == g.Node && o.Start < g.Start && g.Start < o.End {
				t.Errorf("%s:%d failed at %s, while its node was down from %s to %s", g.Node, g.GPU, g.Start, o.Start, o.End)
			}
		}
	}
}

// GPU failures draw from a stream of their own: the node failures and
// repairs of a run are the same with GPU failures on, up to the end of
// the shorter run; and two runs with both give byte-identical outputs.
func TestGPUFailuresKeepNodeDraws(t *testing.T) {
	fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 12, Sites: 1, Tenants: 3, Cohorts: 1, Seed: 5})
	run := func(gpuMTBF model.Duration) (*Result, []string, string) {
		var log, out bytes.Buffer
		res, err := Run(Config{Facility: fac, Jobs: workload.Generate(fac, 120, 5, t0), Seed: 7,
			MTBF: 3 * model.Day, GPUMTBF: gpuMTBF}, &log)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteSummary(&out, Summarize(fac, res)); err != nil {
			t.Fatal(err)
		}
		if err := WriteJobsCSV(&out, res); err != nil {
			t.Fatal(err)
		}
		var nodes []string
		for _, l := range strings.Split(log.String(), "\n") {
			if strings.Contains(l, " node-fail ") || strings.Contains(l, " node-repair ") {
				nodes = append(nodes, l)
			}
		}
		return res, nodes, log.String() + out.String()
	}
	plain, plainNodes, _ := run(0)
	res, nodes, a := run(10 * model.Day)
	if _, _, b := run(10 * model.Day); a != b {
		t.Fatal("two runs of the same inputs with GPU failures wrote different outputs")
	}
	if len(res.GPUOutages) == 0 || len(plain.Outages) == 0 {
		t.Fatalf("%d GPU and %d node outages; the test needs both", len(res.GPUOutages), len(plain.Outages))
	}
	end := min(plain.End, res.End).String()
	cut := func(ls []string) []string {
		i := slices.IndexFunc(ls, func(l string) bool { return l[:len(end)] > end })
		if i < 0 {
			return ls
		}
		return ls[:i]
	}
	if a, b := cut(plainNodes), cut(nodes); !slices.Equal(a, b) {
		t.Errorf("node failures differ with GPU failures on (up to %s):\nwithout: %v\nwith:    %v", end, a, b)
	}
}

// A GPU failure stops a deployment whole, as a node failure does: it
// loses nothing (no training progress), queues again and serves its full
// time once back, every replica with it: its GPU-hours are its replicas'
// GPUs × its run time, however often a GPU under it failed.
func TestGPUFailureStopsADeploymentWhole(t *testing.T) {
	killed := 0
	for seed := int64(1); seed <= 6; seed++ {
		d := job("d", "acme", "normal", 2, 2, t0, 30*model.Hour)
		d.Kind = model.KindDeployment
		var log bytes.Buffer
		res, err := Run(Config{Facility: facility(1), Jobs: []*model.Job{d}, Seed: seed,
			GPUMTBF: 5 * model.Day, GPUMTTR: 2 * model.Hour}, &log)
		if err != nil {
			t.Fatal(err)
		}
		r := res.Jobs[0]
		killed += r.GPUFailures
		if r.End == 0 || r.LostGPUSeconds != 0 || r.GPUFailureLost != 0 || gpuSeconds(&r) != 4*float64(30*model.Hour) {
			t.Errorf("seed %d: d ends %s, lost %g GPU-s (%g to GPU failures), held %g GPU-h; want it finished, nothing lost, 120 GPU-h:\n%s",
				seed, r.End, r.LostGPUSeconds, r.GPUFailureLost, gpuSeconds(&r)/3600, log.String())
		}
		if n := strings.Count(log.String(), "gpu-fail-kill d "); n != r.GPUFailures {
			t.Errorf("seed %d: %d kills in the log, %d counted", seed, n, r.GPUFailures)
		}
	}
	if killed == 0 {
		t.Fatal("no GPU failure hit d; the test needs some")
	}
}
