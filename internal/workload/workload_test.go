package workload

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
)

const start = model.Time(1767225600) // 2026-01-01T00:00:00Z

func TestGenerateFacility(t *testing.T) {
	f := GenerateFacility(FacilityConfig{})
	gpus, models, nvl := 0, map[string]int{}, map[string]int{}
	for _, n := range f.Nodes {
		gpus += n.GPUs
		models[n.GPUModel] += n.GPUs
		nvl[n.NVLinkDomain] += n.GPUs
	}
	if len(f.Nodes) != 10_000 || gpus != 80_000 || len(f.Sites) != 4 || len(f.Tenants) != 200 || len(f.Cohorts) != 11 {
		t.Errorf("got %d nodes, %d GPUs, %d sites, %d tenants, %d cohorts", len(f.Nodes), gpus, len(f.Sites), len(f.Tenants), len(f.Cohorts))
	}
	if max72 := maxValue(nvl); max72 != 72 {
		t.Errorf("largest NVLink domain has %d GPUs, want 72", max72)
	}
	quota := map[string]int{}
	for _, tn := range f.Tenants {
		for m, q := range tn.Quota {
			quota[m] += q.Nominal
		}
	}
	for m, c := range models {
		if q := quota[m]; q < c*9/10 || q > c*11/10 {
			t.Errorf("quota of %s sums to %d, capacity %d", m, q, c)
		}
	}
	var envelope, nameplate float64
	for _, s := range f.Sites {
		envelope += s.PowerEnvelopeKW
	}
	for _, n := range f.Nodes {
		nameplate += (float64(n.GPUs*f.GPUModels[n.GPUModel].TDPWatts) + n.BaseWatts) / 1000
	}
	if envelope >= nameplate {
		t.Errorf("site envelopes %.0f kW, not below nameplate %.0f kW", envelope, nameplate)
	}
	if diff := cmp.Diff(f, GenerateFacility(DefaultFacilityConfig())); diff != "" {
		t.Errorf("not deterministic (-first +second):\n%s", diff)
	}
	small := GenerateFacility(FacilityConfig{Nodes: 40, Sites: 6, Tenants: 5, Cohorts: 2})
	if len(small.Nodes) != 40 || len(small.Sites) != 6 || small.Sites[4].ID != "fr-par-2" {
		t.Errorf("small facility: %d nodes, %d sites", len(small.Nodes), len(small.Sites))
	}
}

func maxValue(m map[string]int) int {
	v := 0
	for _, x := range m {
		v = max(v, x)
	}
	return v
}

// TestGenerateLoadsBack writes generated jobs as JSONL and loads them back
// against the same facility: no errors, identical jobs.
func TestGenerateLoadsBack(t *testing.T) {
	for _, fac := range []*model.Facility{
		GenerateFacility(FacilityConfig{}),
		GenerateFacility(FacilityConfig{Nodes: 24, Sites: 2, Tenants: 7, Cohorts: 2, Seed: 9}),
	} {
		jobs := Generate(fac, 5000, 42, start)
		var buf bytes.Buffer
		if err := jobspec.Write(&buf, jobs); err != nil {
			t.Fatal(err)
		}
		back, err := jobspec.Load("gen.jsonl", buf.Bytes(), fac)
		if err != nil {
			t.Fatalf("load back: %v", err)
		}
		if diff := cmp.Diff(jobs, back); diff != "" {
			t.Errorf("round trip (-generated +loaded):\n%s", diff)
		}
	}
}

func TestGenerateMix(t *testing.T) {
	fac := GenerateFacility(FacilityConfig{})
	const n = 20_000
	jobs := Generate(fac, n, 7, start)
	if len(jobs) != n || jobs[0].ID != "j0000001" || jobs[n-1].ID != "j0020000" {
		t.Fatalf("got %d jobs, ids %s…%s", len(jobs), jobs[0].ID, jobs[len(jobs)-1].ID)
	}
	var small, medium, large, deploy, flex int
	tenants, classes := map[string]bool{}, map[string]bool{}
	last := model.Time(0)
	for _, j := range jobs {
		tenants[j.Tenant], classes[j.PriorityClass] = true, true
		switch g := j.TotalGPUs(); {
		case j.Kind == model.KindDeployment:
			deploy++
		case g <= 8:
			small++
		case g <= 256:
			medium++
		default:
			large++
		}
		if j.Flexible() {
			flex++
		}
		if j.SubmitTime < last || j.SubmitTime < start {
			t.Fatalf("%s submitted at %s, after %s", j.ID, j.SubmitTime, last)
		}
		last = j.SubmitTime
	}
	t.Logf("small %d, medium %d, large %d, deployments %d, flexible %d, span %s", small, medium, large, deploy, flex, last.Sub(start))
	within := func(name string, got int, want float64) {
		if f := float64(got) / n; f < want*0.85 || f > want*1.15 {
			t.Errorf("%s: %.3f of jobs, want about %.3f", name, f, want)
		}
	}
	within("small", small, shareSmall*(1-shareDeployment))
	within("medium", medium, shareMedium)
	within("large", large, 1-shareSmall-shareMedium)
	within("deployments", deploy, shareSmall*shareDeployment)
	if len(tenants) != len(fac.Tenants) || len(classes) != len(fac.PriorityClasses) {
		t.Errorf("jobs use %d of %d tenants and %d of %d classes", len(tenants), len(fac.Tenants), len(classes), len(fac.PriorityClasses))
	}
}

func TestGenerateDeterministic(t *testing.T) {
	fac := GenerateFacility(FacilityConfig{Nodes: 100, Tenants: 10})
	a, b := Generate(fac, 1000, 5, start), Generate(fac, 1000, 5, start)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different jobs (-a +b):\n%s", diff)
	}
	if c := Generate(fac, 1000, 6, start); cmp.Equal(a, c) {
		t.Error("different seeds gave the same jobs")
	}
	if Generate(&model.Facility{}, 10, 1, start) != nil {
		t.Error("a facility without tenants gave jobs")
	}
}

func BenchmarkGenerate1M(b *testing.B) {
	fac := GenerateFacility(FacilityConfig{})
	b.ReportAllocs()
	for b.Loop() {
		if jobs := Generate(fac, 1_000_000, 1, start); len(jobs) != 1_000_000 {
			b.Fatal(len(jobs))
		}
	}
}
