package sim

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden event logs under testdata/")

// goldenRuns are small scenarios whose whole event log and jobs.csv are
// kept under testdata/NAME.log; -rewrite regenerates them (review the
// diff).
var goldenRuns = []struct {
	name string
	cfg  func() Config
}{
	{"fairshare_backfill", func() Config {
		fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 6, Sites: 1, Tenants: 3, Cohorts: 1, Seed: 2})
		return Config{Facility: fac, Jobs: workload.Generate(fac, 40, 2, t0)}
	}},
	{"preempt_resume", func() Config {
		return Config{Facility: facility(2), CheckpointInterval: 20 * model.Minute, Jobs: []*model.Job{
			job("a1", "acme", "normal", 2, 8, t0, 3*model.Hour),
			job("h1", "beta", "high", 1, 8, t0.Add(70*model.Minute), model.Hour),
			job("h2", "beta", "high", 1, 8, t0.Add(75*model.Minute), 30*model.Minute),
		}}
	}},
	{"capped_start", func() Config {
		fac := facility(2)
		fac.Sites[0].PowerEnvelopeKW = 10 // the second 8-GPU job only fits capped
		return Config{Facility: fac, Jobs: []*model.Job{
			job("j1", "acme", "normal", 1, 8, t0, 2*model.Hour),
			job("j2", "beta", "normal", 1, 8, t0.Add(model.Minute), 2*model.Hour),
		}}
	}},
	{"capped_recap", func() Config {
		fac := facility(2)
		fac.Sites[0].PowerEnvelopeKW = 10 // as capped_start; j2's cap is raised once j1 ends,
		fac.Policy.PowerRecap = true      // and lowered again when j3 needs the power
		return Config{Facility: fac, Jobs: []*model.Job{
			job("j1", "acme", "normal", 1, 8, t0, 2*model.Hour),
			job("j2", "beta", "normal", 1, 8, t0.Add(model.Minute), 2*model.Hour),
			job("j3", "acme", "normal", 1, 8, t0.Add(130*model.Minute), model.Hour),
		}}
	}},
	{"node_failures", func() Config {
		fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 6, Sites: 1, Tenants: 2, Cohorts: 1, Seed: 4})
		return Config{Facility: fac, Jobs: workload.Generate(fac, 25, 4, t0), Seed: 9,
			MTBF: model.Day, MTTR: 2 * model.Hour, CheckpointInterval: 30 * model.Minute}
	}},
}

func TestGoldenEventLogs(t *testing.T) {
	for _, g := range goldenRuns {
		t.Run(g.name, func(t *testing.T) {
			var log bytes.Buffer
			res, err := Run(g.cfg(), &log)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			w.Write(log.Bytes())
			w.WriteString("--- jobs.csv\n")
			if err := WriteJobsCSV(w, res); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			path := filepath.Join("testdata", g.name+".log")
			if *rewrite {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -rewrite to create it)", err)
			}
			if d := cmp.Diff(string(want), out.String()); d != "" {
				t.Fatalf("%s differs (-golden +run); if the change is intended, run go test ./internal/sim -run Golden -rewrite and review:\n%s", path, d)
			}
		})
	}
}
