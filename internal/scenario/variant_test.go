package scenario

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/bundled"
	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sim"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

func lab4(t *testing.T) *model.Facility {
	t.Helper()
	f, err := facility.LoadFile("testdata/lab4.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNameplate(t *testing.T) {
	if got := NameplateW(lab4(t))["par1"]; got != 4*(2000+8*700) {
		t.Errorf("nameplate %g W, want 30400", got)
	}
}

func TestGPUScale(t *testing.T) {
	base := lab4(t)
	f, err := FacilityVariant{GPUScale: 1.25}.apply(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Nodes) != 4 || base.Racks[0].PowerCapKW != 30.4 {
		t.Fatalf("the base facility changed: %d nodes, rack cap %g", len(base.Nodes), base.Racks[0].PowerCapKW)
	}
	if len(f.Nodes) != 5 || f.Nodes[4].Name != "h100-1-x1" || f.Nodes[4].NVLinkDomain != "h100-1-x1" || f.Nodes[4].Rack != base.Nodes[0].Rack {
		t.Errorf("nodes %+v", f.Nodes)
	}
	if got := f.Racks[0].PowerCapKW; math.Abs(got-38) > 1e-9 {
		t.Errorf("rack cap %g kW, want 38 (it grows with its nameplate)", got)
	}
	if f.Sites[0].PowerEnvelopeKW != 30.4 {
		t.Errorf("site envelope %g kW, want the base's 30.4", f.Sites[0].PowerEnvelopeKW)
	}
	if q := f.Tenants[0].Quota["H100"].Nominal; q != 20 {
		t.Errorf("lab-a nominal %d, want 16 × 40/32 = 20", q)
	}
	if base.Tenants[0].Quota["H100"].Nominal != 16 {
		t.Error("the base quota changed")
	}
	small, err := FacilityVariant{GPUScale: 0.5}.apply(base)
	if err != nil || len(small.Nodes) != 2 || small.Tenants[0].Quota["H100"].Nominal != 8 {
		t.Errorf("gpu_scale 0.5: %v, %d nodes", err, len(small.Nodes))
	}
	if _, err := (FacilityVariant{GPUScale: 0.1}).apply(base); err == nil || !strings.Contains(err.Error(), "without H100 nodes") {
		t.Errorf("gpu_scale 0.1: %v", err)
	}
}

// TestGPUScaleThatChangesNothing: a gpu_scale too close to 1 for any
// group's node count to change (4 nodes × 1.1 = 4.4, rounded to 4) ran
// the base facility under the variant's name, described as
// "gpu_scale=1.1": a planner read that 10 % more GPUs changed nothing.
// It is an error that says which scale would change a count.
func TestGPUScaleThatChangesNothing(t *testing.T) {
	base := lab4(t)
	for _, tc := range []struct {
		scale float64
		want  string
	}{
		{1.1, "gpu_scale 1.1 changes no node count (site par1: 4 H100 nodes × 1.1 round to 4); a scale of at least 1.125 adds a node"},
		{0.9, "gpu_scale 0.9 changes no node count (site par1: 4 H100 nodes × 0.9 round to 4); a scale below 0.875 removes a node"},
	} {
		if _, err := (FacilityVariant{GPUScale: tc.scale}).apply(base); err == nil || err.Error() != tc.want {
			t.Errorf("gpu_scale %g: %v; want %q", tc.scale, err, tc.want)
		}
	}
	if f, err := (FacilityVariant{GPUScale: 1.125}).apply(base); err != nil || len(f.Nodes) != 5 {
		t.Errorf("gpu_scale 1.125: %v; want 5 nodes", err)
	}
}

func TestEnvelopeFraction(t *testing.T) {
	base := lab4(t)
	f, err := FacilityVariant{GPUScale: 1.25, EnvelopeFraction: 0.7}.apply(base)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Sites[0].PowerEnvelopeKW; math.Abs(got-21.28) > 1e-9 {
		t.Errorf("envelope %g kW, want 0.7 × the base nameplate 30.4 = 21.28", got)
	}
	_, err = FacilityVariant{GPUScale: 4, EnvelopeFraction: 0.2}.apply(base)
	if err == nil || !strings.Contains(err.Error(), "idles at 41.2 kW, above its 6.1 kW envelope") {
		t.Errorf("envelope below idle: %v", err)
	}
}

// power_caps_kw sets a site's envelope (lowering the hall caps above
// it) or a hall's or rack's cap, with the facility file's rules, and
// names what it cannot find.
func TestPowerCaps(t *testing.T) {
	base := lab4(t)
	f, err := FacilityVariant{GPUScale: 1, PowerCaps: []PowerCap{{ID: "par1/h1", KW: 20}, {ID: "par1/h1/r1", KW: 15}}}.apply(base)
	if err != nil {
		t.Fatal(err)
	}
	if f.Halls[0].PowerCapKW != 20 || f.Racks[0].PowerCapKW != 15 || f.Sites[0].PowerEnvelopeKW != 30.4 {
		t.Errorf("hall cap %g, rack cap %g, envelope %g kW; want 20, 15, 30.4", f.Halls[0].PowerCapKW, f.Racks[0].PowerCapKW, f.Sites[0].PowerEnvelopeKW)
	}
	if base.Halls[0].PowerCapKW == 20 || base.Racks[0].PowerCapKW == 15 {
		t.Error("the base facility changed")
	}
	f, err = FacilityVariant{GPUScale: 1, PowerCaps: []PowerCap{{ID: "par1/h1", KW: 25}, {ID: "par1", KW: 22}}}.apply(base)
	if err != nil || f.Sites[0].PowerEnvelopeKW != 22 || f.Halls[0].PowerCapKW != 22 {
		t.Errorf("envelope %g, hall cap %g kW (%v); want 22 and the hall lowered to it", f.Sites[0].PowerEnvelopeKW, f.Halls[0].PowerCapKW, err)
	}
	for _, tc := range []struct {
		pc   PowerCap
		want string
	}{
		{PowerCap{ID: "par1/h9", KW: 10}, `no site, hall or rack "par1/h9" in the facility (sites and halls: par1, par1/h1;`},
		{PowerCap{ID: "par1/h1", KW: 40}, "hall par1/h1 at 40 kW is above its site par1's envelope of 30.4 kW"},
		{PowerCap{ID: "par1/h1/r1", KW: 2}, "rack par1/h1/r1 idles at"},
		{PowerCap{ID: "par1", KW: 2}, "site par1 idles at"},
	} {
		_, err := FacilityVariant{GPUScale: 1, PowerCaps: []PowerCap{tc.pc}}.apply(base)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.pc, err, tc.want)
		}
	}
}

func TestPolicyApply(t *testing.T) {
	s, err := Load("s.yaml", []byte(`
facility: f
workload: {file: j}
policies:
  fifo: {fair_share: false, backfill: false, preemption: false, deferral: false, order: shortest-first}
  lean: {power: false, carbon_weight: 1, fair_share_half_life: 3d, preemption_rate_limit: {max: 2, window: 1h}}
`))
	if err != nil {
		t.Fatal(err)
	}
	fifo, err := s.Policies[0].apply(model.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if fifo.FairShare || fifo.Backfill || fifo.Preemption || fifo.Reclaim || fifo.Deferral || !fifo.Power || fifo.Order != model.OrderShortestFirst {
		t.Errorf("fifo: %+v", fifo)
	}
	lean, err := s.Policies[1].apply(model.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if lean.Power || lean.PowerCapping || lean.CarbonWeight != 1 || lean.FairShareHalfLife != 3*model.Day || lean.PreemptionRateLimit != 2 {
		t.Errorf("lean: %+v", lean)
	}
}

func TestPrepare(t *testing.T) {
	s, err := Load("testdata/set.yaml", []byte(`
facility: lab4.yaml
workload:
  batch: {jobs: 5, start: 2023-06-01T00:00:00Z, every: 1h, runtime: 2h, gpus: 8, tenants: [lab-a]}
  shift_to: 2023-06-02T00:00:00Z
policies: {a: {deferral: false}, b: {}}
facilities: {x1: {}, x2: {gpu_scale: 2}}
grids: {DE: {zone: DE, file: de.csv}, own: {zone: FR}}
`))
	if err != nil {
		t.Fatal(err)
	}
	de := fakeSeries("DE")
	s.Grids[0].File = "" // use the resolver, so the test needs no data files
	_, err = Prepare(s, Options{Grid: func(z string) (model.GridSeries, error) {
		if z == "DE" {
			return de, nil
		}
		return model.GridSeries{}, errors.New("no " + z)
	}})
	var list yamlin.ErrorList
	if !errors.As(err, &list) || len(list) != 1 || !strings.HasPrefix(list[0].Error(), "testdata/set.yaml:8: grids.own: no FR") {
		t.Fatalf("want one error for the FR series, got %v", err)
	}
	s.Grids[1].File = "testdata/fr-sample.csv"
	_, err = Prepare(s, Options{Grid: func(string) (model.GridSeries, error) { return de, nil }})
	if err == nil || !strings.Contains(err.Error(), "move the workload with workload.shift_to") {
		t.Fatalf("want a coverage error for the short FR sample, got %v", err)
	}
	s.Grids = s.Grids[:1]
	s.cross()
	cases, err := Prepare(s, Options{Grid: func(string) (model.GridSeries, error) { return de, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 4 {
		t.Fatalf("%d cases, want 4", len(cases))
	}
	c := cases[3] // b+x2
	if c.Scenario.Name != "b+x2" || len(c.Config.Facility.Nodes) != 8 || !c.Config.Facility.Policy.Deferral ||
		c.Config.Facility.Sites[0].GridZone != "DE" || c.Config.Grid[0].Zone != "DE" {
		t.Errorf("case %s: %d nodes, policy %+v, zone %s", c.Scenario.Name, len(c.Config.Facility.Nodes), c.Config.Facility.Policy, c.Config.Facility.Sites[0].GridZone)
	}
	if cases[0].Config.Facility.Policy.Deferral || cases[0].Config.Facility == cases[2].Config.Facility {
		t.Error("policy a not applied, or two cases share a facility")
	}
	j0 := cases[0].Config.Jobs[0]
	if j0.SubmitTime != model.TimeOf(mustTime(t, "2023-06-02T00:00:00Z")) || j0.Deadline != 0 {
		t.Errorf("jobs: first submit %s, deadline %s", j0.SubmitTime, j0.Deadline)
	}
}

// A hall capped by power_caps_kw holds its cap in a run: the plans pass
// the checker (which holds every pass to hall caps) and the site, whose
// one hall it is, never draws above the cap, where the uncapped hall
// does.
func TestPowerCapsHoldInARun(t *testing.T) {
	s, err := Load("testdata/hall.yaml", []byte(`
facility: lab4.yaml
workload:
  generate: {jobs: 120, seed: 5, start: 2023-05-01T00:00:00Z, load: 0.9}
facilities:
  base: {}
  hall-18kW: {power_caps_kw: {par1/h1: 18}}
grids:
  FR: {zone: FR}
`))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), cases, RunOptions{Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	base, capped := out[0].Metrics, out[1].Metrics
	t.Logf("peaks: base %.2f kW, capped %.2f kW; GPU-hours %.0f and %.0f", base.MaxITkW, capped.MaxITkW, base.GPUHours, capped.GPUHours)
	if base.MaxITkW <= 18 {
		t.Fatalf("the uncapped hall peaks at %.1f kW: the test needs a load above 18 kW", base.MaxITkW)
	}
	if capped.MaxITkW > 18+1e-9 {
		t.Errorf("the hall capped at 18 kW drew %.2f kW", capped.MaxITkW)
	}
}

// runSummaries runs cases two at a time and returns each one's
// summary, in the order of cases, and Run's outcomes.
func runSummaries(t *testing.T, cases []Case) ([]sim.Summary, []Outcome) {
	t.Helper()
	sums := make([]sim.Summary, len(cases))
	out, err := Run(context.Background(), cases, RunOptions{Parallel: 2, Finish: func(c *Case, _ *sim.Result, sum sim.Summary) error {
		sums[slices.IndexFunc(cases, func(x Case) bool { return x.Scenario.Name == c.Scenario.Name })] = sum
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return sums, out
}

// A facility variant with an mtbf fails its nodes in its runs, drawn
// from the set's seed; the one without does not.
func TestFailuresVariant(t *testing.T) {
	s, err := Load("testdata/fail.yaml", []byte(`
facility: lab4.yaml
workload:
  generate: {jobs: 60, seed: 5, start: 2023-05-01T00:00:00Z, load: 0.9}
facilities:
  sound: {}
  flaky: {mtbf: 2d, mttr: 2h}
grids:
  FR: {zone: FR}
`))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	if c := cases[1].Config; c.MTBF != 2*model.Day || c.MTTR != 2*model.Hour || cases[0].Config.MTBF != 0 {
		t.Fatalf("mtbf %v / %v, mttr %v", cases[0].Config.MTBF, c.MTBF, c.MTTR)
	}
	sums, _ := runSummaries(t, cases)
	if kills := []int{sums[0].Failures, sums[1].Failures}; kills[0] != 0 || kills[1] == 0 {
		t.Errorf("jobs killed by node failures: %d without mtbf, %d with; want 0 and some", kills[0], kills[1])
	}
	if got := s.Facilities[1].describe(); got != "mtbf=48h0m0s mttr=2h0m0s" {
		t.Errorf("variant described as %q", got)
	}
}

// A facility variant with a gpu_mtbf fails single GPUs in its runs,
// killing the jobs on them; the one without does not, and its name says
// both keys.
func TestGPUFailuresVariant(t *testing.T) {
	s, err := Load("testdata/gpufail.yaml", []byte(`
facility: lab4.yaml
workload:
  generate: {jobs: 60, seed: 5, start: 2023-05-01T00:00:00Z, load: 0.9}
facilities:
  sound: {}
  worn: {gpu_mtbf: 20d, gpu_mttr: 6h}
grids:
  FR: {zone: FR}
`))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Prepare(s, Options{Grid: bundled.Grid})
	if err != nil {
		t.Fatal(err)
	}
	if c := cases[1].Config; c.GPUMTBF != 20*model.Day || c.GPUMTTR != 6*model.Hour || c.MTBF != 0 || cases[0].Config.GPUMTBF != 0 {
		t.Fatalf("gpu_mtbf %v / %v, gpu_mttr %v, mtbf %v", cases[0].Config.GPUMTBF, c.GPUMTBF, c.GPUMTTR, c.MTBF)
	}
	sums, _ := runSummaries(t, cases)
	if sums[0].GPUFailures != 0 || sums[0].GPUDownHours != 0 || sums[1].GPUFailures == 0 || sums[1].GPUDownHours <= 0 {
		t.Errorf("GPU failure kills %d and %d, GPU-hours down %g and %g; want none without gpu_mtbf and some with",
			sums[0].GPUFailures, sums[1].GPUFailures, sums[0].GPUDownHours, sums[1].GPUDownHours)
	}
	if got := s.Facilities[1].describe(); got != "gpu_mtbf=480h0m0s gpu_mttr=6h0m0s" {
		t.Errorf("variant described as %q", got)
	}
}

// A cap a variant cannot set is reported at its own line.
func TestPowerCapErrorAtItsLine(t *testing.T) {
	s, err := Load("testdata/caps.yaml", []byte(`facility: lab4.yaml
workload:
  generate: {jobs: 10, seed: 5, start: 2023-05-01T00:00:00Z}
facilities:
  hall:
    power_caps_kw:
      par1/h1: 20
      par1/h9: 10
grids:
  FR: {zone: FR}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(s, Options{Grid: bundled.Grid})
	if want := `caps.yaml:8: facilities.hall.power_caps_kw.par1/h9: no site, hall or rack "par1/h9"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
}

// A hall's new cap lowers the rack caps above it, as a site's envelope
// lowers the hall caps above it, so that the variant keeps the facility
// file's rules (a rack's cap at most its hall's: written out, the
// variant loads); and a hall cap below the hall's idle draw is an error,
// as a site's envelope or a rack's cap below its idle draw is.
func TestPowerCapsLowerRacks(t *testing.T) {
	base := lab4(t) // r1 capped at 30.4 kW, its hall uncapped
	for _, tc := range []struct {
		name       string
		caps       []PowerCap
		hall, rack float64
	}{
		{"a hall cap", []PowerCap{{ID: "par1/h1", KW: 18}}, 18, 18},
		{"an envelope lowering the hall", []PowerCap{{ID: "par1/h1", KW: 25}, {ID: "par1", KW: 20}}, 20, 20},
		{"a rack below the hall", []PowerCap{{ID: "par1/h1/r1", KW: 12}, {ID: "par1/h1", KW: 18}}, 18, 12},
	} {
		f, err := FacilityVariant{GPUScale: 1, PowerCaps: tc.caps}.apply(base)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if f.Halls[0].PowerCapKW != tc.hall || f.Racks[0].PowerCapKW != tc.rack {
			t.Errorf("%s: hall cap %g, rack cap %g kW; want %g, %g", tc.name, f.Halls[0].PowerCapKW, f.Racks[0].PowerCapKW, tc.hall, tc.rack)
		}
		var buf strings.Builder
		if err := facility.Write(&buf, f); err != nil {
			t.Fatal(err)
		}
		if _, err := facility.Load("variant.yaml", []byte(buf.String())); err != nil {
			t.Errorf("%s: the variant breaks the facility file's rules: %v", tc.name, err)
		}
	}
	if base.Racks[0].PowerCapKW != 30.4 {
		t.Error("the base facility changed")
	}
	_, err := FacilityVariant{GPUScale: 1, PowerCaps: []PowerCap{{ID: "par1/h1", KW: 5}}}.apply(base)
	if err == nil || !strings.Contains(err.Error(), "hall par1/h1 idles at 10.3 kW, above 5 kW") {
		t.Errorf("a hall cap below its idle draw: %v", err)
	}
}
