package sim

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

// TestPowerCappedJobsRunSlower: a site whose envelope forces the core to
// cap a job's GPUs makes the job run (cap / (TDP × utilisation)) ^ 0.5
// of full speed, so it ends that much later.
func TestPowerCappedJobsRunSlower(t *testing.T) {
	fac := facility(1)
	fac.Sites[0].PowerEnvelopeKW = 4 // 1 kW base + 8 GPUs: uncapped 6.6 kW does not fit
	j := job("j", "acme", "normal", 1, 8, t0, model.Hour)
	capW := 0
	cfg := Config{Facility: fac, Jobs: []*model.Job{j}, OnPass: func(_ *model.Snapshot, p *model.Plan) {
		for _, s := range p.Starts {
			capW = s.Replicas[0].PowerCapW
		}
	}}
	var log bytes.Buffer
	res, err := Run(cfg, &log)
	if err != nil {
		t.Fatal(err)
	}
	if capW == 0 || capW >= 560 {
		t.Fatalf("the core did not cap the job below its uncapped draw (cap %d W); the test does not exercise the model", capW)
	}
	speed := math.Sqrt(float64(capW) / (700 * 0.8))
	want := model.Duration(math.Ceil(3600 / speed))
	if got := res.Jobs[0].End.Sub(res.Jobs[0].FirstStart); got != want {
		t.Fatalf("capped at %d W the job ran %s, want %s (speed %.3f)\n%s", capW, got, want, speed, log.String())
	}
	if !strings.Contains(log.String(), fmt.Sprintf("capped at %d W at %.3f speed", capW, speed)) {
		t.Fatalf("the log does not show the cap and speed:\n%s", log.String())
	}
	// uncapped, the same job takes its hour
	fac.Sites[0].PowerEnvelopeKW = 10
	res, err = Run(Config{Facility: fac, Jobs: []*model.Job{job("j", "acme", "normal", 1, 8, t0, model.Hour)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Jobs[0].End.Sub(res.Jobs[0].FirstStart); got != model.Hour {
		t.Fatalf("uncapped, the job ran %s, want 1h", got)
	}
}

// TestSpreadGangsRunSlower: a gang over two leaves loses SpreadSlowdown
// of its speed; one within a leaf does not.
func TestSpreadGangsRunSlower(t *testing.T) {
	for _, tc := range []struct {
		racks []string
		want  model.Duration
	}{
		{[]string{"r1", "r2"}, model.Duration(math.Ceil(3600 / 0.8))},
		{[]string{"r1", "r1"}, model.Hour},
	} {
		fac := facility(2)
		for i := range fac.Nodes {
			fac.Nodes[i].Rack = tc.racks[i]
		}
		res, err := Run(Config{Facility: fac, SpreadSlowdown: 0.2,
			Jobs: []*model.Job{job("g", "acme", "normal", 2, 8, t0, model.Hour)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Jobs[0].End.Sub(res.Jobs[0].FirstStart); got != tc.want {
			t.Errorf("racks %v: the gang ran %s, want %s", tc.racks, got, tc.want)
		}
	}
}

// TestNodeFailures: with an MTBF, failures kill jobs, which lose the work
// since their last checkpoint and still finish whenever they finish
// without failures (some jobs exceed their quota forever); the same seed gives
// the same run, another seed another one; without an MTBF nothing fails.
func TestNodeFailures(t *testing.T) {
	fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 20, Sites: 1, Tenants: 3, Cohorts: 1})
	run := func(seed int64, mtbf model.Duration) (string, *Result) {
		var log bytes.Buffer
		res, err := Run(Config{Facility: fac, Jobs: workload.Generate(fac, 150, 3, t0), Seed: seed,
			MTBF: mtbf, MTTR: 2 * model.Hour, CheckpointInterval: 30 * model.Minute}, &log)
		if err != nil {
			t.Fatal(err)
		}
		return log.String(), res
	}
	logA, a := run(1, 12*model.Hour)
	logB, _ := run(1, 12*model.Hour)
	logC, _ := run(2, 12*model.Hour)
	if logA != logB {
		t.Fatal("the same seed gave two different runs")
	}
	if logA == logC {
		t.Fatal("two seeds gave the same failures")
	}
	logN, n := run(1, 0)
	failures, lost, finished := 0, 0.0, 0
	for i, j := range a.Jobs {
		failures += j.Failures
		lost += j.LostGPUSeconds
		if (j.End > 0) != (n.Jobs[i].End > 0) {
			t.Errorf("job %s: finished %v with failures, %v without", j.Job.ID, j.End > 0, n.Jobs[i].End > 0)
		}
		if j.End > 0 {
			finished++
		}
		if n.Jobs[i].Failures > 0 {
			t.Fatalf("job %s failed without an MTBF", j.Job.ID)
		}
	}
	if failures == 0 || lost <= 0 || finished < len(a.Jobs)/2 || !strings.Contains(logA, "node-fail") || !strings.Contains(logA, "fail-kill") {
		t.Fatalf("no job was hit (%d failures, %.0f GPU-s lost, %d finished); the test does not exercise failures", failures, lost, finished)
	}
	if strings.Contains(logN, "node-fail") {
		t.Fatal("a node failed without an MTBF")
	}
}

// TestScaledDeploymentSpeed: a deployment's speed follows its replicas
// from each scale-up, as from its start. Spread over two leaves at its
// start it ran at (1 − s) of full speed, but spread by a scale-up it went
// on at full speed: 2 h of work, one hour at full speed on one leaf, then
// at 0.5 on two, ended at 2 h instead of 3 h.
func TestScaledDeploymentSpeed(t *testing.T) {
	fac := facility(2)
	fac.Nodes[0].Rack, fac.Nodes[1].Rack = "r1", "r2" // one leaf each
	blocker := job("b", "beta", "normal", 1, 8, t0, model.Hour)
	d := job("d", "acme", "normal", 2, 8, t0, 2*model.Hour)
	d.Kind, d.MinReplicas = model.KindDeployment, 1
	var log bytes.Buffer
	res, err := Run(Config{Facility: fac, Jobs: []*model.Job{blocker, d}, SpreadSlowdown: 0.5}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), (t0+3600).String()+" start d on ") {
		t.Fatalf("d was not scaled up when b ended:\n%s", log.String())
	}
	if got, want := res.Jobs[1].End, t0+3*3600; got != want {
		t.Errorf("d ended at %s, want %s (1 h alone, then its last hour of work at half speed):\n%s", got, want, log.String())
	}
}
