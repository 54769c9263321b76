package scenario

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/bundled"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sim"
)

const smallSet = `
name: small
facility: lab4.yaml
workload:
  generate: {jobs: 120, seed: 5, start: 2023-05-01T00:00:00Z, load: 0.7}
  batch: {jobs: 40, start: 2023-05-01T00:00:00Z, every: 3h, runtime: 4h, slack: 12h, gpus: 8, tenants: [lab-b, lab-c]}
  flexible: {share: 0.5, slack: 6h}
policies:
  fifo: {fair_share: false, backfill: false, preemption: false, deferral: false}
  fairshare-backfill: {preemption: false, deferral: false}
  deferral: {preemption: false}
facilities:
  x1: {}
  x1.25-env80: {gpu_scale: 1.25, envelope_fraction: 0.8}
grids:
  FR: {zone: FR}
`

func prepareSmall(t *testing.T) (*Set, []Case) {
	t.Helper()
	s, err := Load("testdata/small.yaml", []byte(smallSet))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	return s, cases
}

// runAll runs the small set with n workers and returns plan.json,
// plan.html and every scenario's summary.json, concatenated.
func runAll(t *testing.T, n int) (planJSON, planHTML, summaries []byte) {
	t.Helper()
	s, cases := prepareSmall(t)
	dir := t.TempDir()
	var progress atomic.Int32
	out, err := Run(context.Background(), cases, RunOptions{Parallel: n, Finish: ScenarioFiles(dir),
		Progress: func(done, total int, _ string, _ error) { progress.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if int(progress.Load()) != len(cases) {
		t.Errorf("progress called %d times for %d scenarios", progress.Load(), len(cases))
	}
	p := NewPlan(s, out)
	var j, h bytes.Buffer
	if err := p.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	var sums []byte
	for _, c := range cases {
		b, err := os.ReadFile(filepath.Join(dir, c.Scenario.Name, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, b...)
	}
	return j.Bytes(), h.Bytes(), sums
}

// TestRunDeterministic: the outputs do not depend on the number of
// workers (run it with -race: the runs share the grid series and the
// jobs' inner slices, and must only read them).
func TestRunDeterministic(t *testing.T) {
	j1, h1, s1 := runAll(t, 1)
	j4, h4, s4 := runAll(t, 4)
	if !bytes.Equal(j1, j4) {
		t.Errorf("plan.json differs between 1 and 4 workers")
	}
	if !bytes.Equal(h1, h4) {
		t.Errorf("plan.html differs between 1 and 4 workers")
	}
	if !bytes.Equal(s1, s4) {
		t.Errorf("the scenarios' summary.json differ between 1 and 4 workers")
	}
	var p Plan
	if err := jsonUnmarshal(j1, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Scenarios) != 6 || p.Scenarios[0].Name != "fifo+x1" || p.Baseline != "fifo+x1" {
		t.Fatalf("plan: %d scenarios, first %q, baseline %q", len(p.Scenarios), p.Scenarios[0].Name, p.Baseline)
	}
	for _, sc := range p.Scenarios {
		m := sc.Metrics
		if sc.Error != "" || m.Jobs != 160 || m.Finished == 0 || m.GPUHours <= 0 || m.EnergyMWh <= 0 || m.CarbonT <= 0 {
			t.Errorf("%s: %+v %s", sc.Name, m, sc.Error)
		}
		if m.EnvelopeViolations != 0 || m.PeakOverEnvelope > 1 {
			t.Errorf("%s: %d envelope violations, peak %.3f of the envelope", sc.Name, m.EnvelopeViolations, m.PeakOverEnvelope)
		}
	}
	if p.Scenarios[1].Metrics.EnvelopeKW >= p.Scenarios[0].Metrics.EnvelopeKW {
		t.Errorf("envelope_fraction 0.8 did not lower the envelope: %+v", p.Scenarios[1].Metrics)
	}
}

// TestHTMLSelfContained: plan.html is well-formed XML, fetches nothing
// and shows every scenario and metric.
func TestHTMLSelfContained(t *testing.T) {
	_, h, _ := runAll(t, 2)
	dec := xml.NewDecoder(bytes.NewReader(h))
	dec.Strict, dec.AutoClose, dec.Entity = true, nil, xml.HTMLEntity
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("plan.html is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if (a.Name.Local == "src" || a.Name.Local == "href") && a.Value != "" {
					t.Errorf("<%s %s=%q>: the page must not fetch anything", se.Name.Local, a.Name.Local, a.Value)
				}
			}
			if se.Name.Local == "script" || se.Name.Local == "link" || se.Name.Local == "img" {
				t.Errorf("plan.html has a <%s>", se.Name.Local)
			}
		}
	}
	page := string(h)
	for _, want := range []string{"fifo+x1.25-env80", "deferral+x1", `data-key="carbon_tco2e"`, `data-key="jain_index"`, "<svg", "envelope_fraction=0.8"} {
		if !strings.Contains(page, want) {
			t.Errorf("plan.html lacks %q", want)
		}
	}
}

func TestRunFailureAndCancel(t *testing.T) {
	_, cases := prepareSmall(t)
	cases = cases[:3]
	cases[1].Config.MaxPasses = 1 // this run "does not end"
	out, err := Run(context.Background(), cases, RunOptions{Parallel: 2})
	if err == nil || !strings.Contains(err.Error(), "scenario fifo+x1.25-env80: sim: more than 1 scheduling passes") {
		t.Errorf("error %v", err)
	}
	if out[1].Err == nil || out[0].Err != nil || out[2].Err != nil || out[2].Metrics.Jobs == 0 {
		t.Errorf("outcomes %+v", out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err = Run(ctx, cases, RunOptions{Parallel: 1})
	if !errors.Is(err, context.Canceled) || len(out) != 3 || out[2].Name != cases[2].Scenario.Name {
		t.Errorf("cancelled: %v, %+v", err, out)
	}
	finishErr := errors.New("disk full")
	out, err = Run(context.Background(), cases[:1], RunOptions{Finish: func(*Case, *sim.Result, sim.Summary) error { return finishErr }})
	if !errors.Is(err, finishErr) || !errors.Is(out[0].Err, finishErr) {
		t.Errorf("finish error: %v", err)
	}
}

func TestWorkloadSources(t *testing.T) {
	base := lab4(t)
	w := WorkloadSpec{Batch: &BatchSpec{Jobs: 4, Start: 1672531200, Every: 3600, Runtime: 7200, GPUs: 8, Replicas: 1,
		Tenants: []string{"lab-a", "lab-b"}, PriorityClass: "normal", Seed: 1},
		Generate: &GenerateSpec{Jobs: 20, Seed: 1, Start: 1672531200, Load: 0.5}, Flexible: &FlexibleSpec{Share: 1, Slack: 3600}}
	jobs, _, err := w.jobs(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 24 || jobs[20].ID != "b1" || jobs[21].Tenant != "lab-b" {
		t.Fatalf("%d jobs, batch starts with %s", len(jobs), jobs[20].ID)
	}
	for _, j := range jobs {
		if j.Kind == model.KindJob && j.RuntimeLimit > 0 && j.Deadline == 0 {
			t.Errorf("job %s has no deadline with flexible share 1", j.ID)
		}
	}
	w.Batch.Tenants = []string{"nobody"}
	if _, _, err := w.jobs(base); err == nil || !strings.Contains(err.Error(), `workload.batch.tenants: unknown tenant "nobody"`) {
		t.Errorf("unknown tenant: %v", err)
	}
}

// TestBatchPreemptibleByClass: a batch job is preemptible as its
// priority class says, as a generated job is. The batch was written out
// with preemptible: false whatever its class, which the read-back took
// as the job's own word: deferral-load.yaml's flexible jobs (class
// normal, preemptible) could not be preempted, and its 128-GPU gangs of
// higher priority waited for the lab to empty, months.
func TestBatchPreemptibleByClass(t *testing.T) {
	base := lab4(t)
	for _, class := range []string{"normal", "critical"} {
		var want bool
		for _, pc := range base.PriorityClasses {
			if pc.Name == class {
				want = pc.Preemptible
			}
		}
		w := WorkloadSpec{Batch: &BatchSpec{Jobs: 2, Start: 1672531200, Every: 3600, Runtime: 7200, GPUs: 8, Replicas: 1,
			Tenants: []string{"lab-a"}, PriorityClass: class, Seed: 1}}
		jobs, _, err := w.jobs(base)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.Preemptible != want {
				t.Errorf("class %s: job %s preemptible %v, want %v as the class says", class, j.ID, j.Preemptible, want)
			}
		}
	}
}

// TestWorkloadFileNeedsSubmitTimes: the jobs of a file without
// submit_time arrived at time 0, which the outputs read as "never" (the
// jobs ran, plan.json counted none finished). Without shift_to, which
// gives them its time, each is an error naming file, line and field.
func TestWorkloadFileNeedsSubmitTimes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	if err := os.WriteFile(path, []byte(`{"id":"a","tenant":"lab-a","gpus":1,"runtime_limit":"1h"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := WorkloadSpec{File: path}
	if _, _, err := w.jobs(lab4(t)); err == nil || !strings.Contains(err.Error(), path+":1: jobs[0].submit_time: is required") {
		t.Fatalf("a job without submit_time: %v", err)
	}
	w.ShiftTo = 1672531200
	jobs, _, err := w.jobs(lab4(t))
	if err != nil || len(jobs) != 1 || jobs[0].SubmitTime != w.ShiftTo {
		t.Fatalf("with shift_to: %v, %v", jobs, err)
	}
}

// TestShiftMovesWindowsWithoutSubmitTimes: with shift_to and a file
// whose jobs have no submit_time, every job was submitted at shift_to
// but its earliest start and deadline stayed where the file put them,
// years away: a job waited until its 2026 earliest start in a 2023 plan,
// past the grid series, and nothing said so. The windows now move
// together so that the earliest can still be met from shift_to.
func TestShiftMovesWindowsWithoutSubmitTimes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	data := `{"id":"a","tenant":"lab-a","gpus":1,"runtime_limit":"2h","earliest_start":"2026-01-05T00:00:00Z","deadline":"2026-01-05T10:00:00Z"}` + "\n" +
		`{"id":"b","tenant":"lab-a","gpus":1,"runtime_limit":"1h","deadline":"2026-01-06T00:00:00Z"}` + "\n" +
		`{"id":"c","tenant":"lab-a","gpus":1,"runtime_limit":"1h"}` + "\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	to := model.Time(1677628800) // 2023-03-01T00:00:00Z
	jobs, _, err := WorkloadSpec{File: path, ShiftTo: to}.jobs(lab4(t))
	if err != nil {
		t.Fatal(err)
	}
	type times struct{ Submit, Earliest, Deadline model.Time }
	var got []times
	for _, j := range jobs {
		got = append(got, times{j.SubmitTime, j.EarliestStart, j.Deadline})
	}
	want := []times{{to, to, to + 10*3600}, {to, 0, to + 24*3600}, {to, 0, 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("submit, earliest start, deadline (-want +got):\n%s", diff)
	}
}
