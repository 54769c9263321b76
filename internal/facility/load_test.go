package facility

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/model"
)

func loadExample(t testing.TB, name string) *model.Facility {
	t.Helper()
	f, err := LoadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

type stats struct {
	Sites, Halls, Racks, Nodes, Tenants, Cohorts int
	GPUs                                         map[string]int
	NameplateKW, EnvelopeKW                      map[string]int
}

func statsOf(f *model.Facility) stats {
	s := Summarize(f)
	st := stats{Sites: len(f.Sites), Halls: len(f.Halls), Racks: len(f.Racks), Nodes: len(f.Nodes),
		Tenants: len(f.Tenants), Cohorts: len(f.Cohorts), GPUs: s.GPUsByModel,
		NameplateKW: map[string]int{}, EnvelopeKW: map[string]int{}}
	for _, x := range s.Sites {
		st.NameplateKW[x.ID] = int(x.NameplateKW + 0.5)
		st.EnvelopeKW[x.ID] = int(x.EnvelopeKW)
	}
	return st
}

func TestExamples(t *testing.T) {
	tests := []struct {
		file string
		want stats
	}{
		{"small.yaml", stats{Sites: 1, Halls: 1, Racks: 1, Nodes: 4, Tenants: 3, Cohorts: 1,
			GPUs: map[string]int{"H100": 32}, NameplateKW: map[string]int{"par1": 30}, EnvelopeKW: map[string]int{"par1": 28}}},
		{"paris.yaml", stats{Sites: 3, Halls: 4, Racks: 2*(96+4) + 16 + 16, Nodes: 2*(96*18+4*16) + 64 + 32, Tenants: 5, Cohorts: 3,
			GPUs:        map[string]int{"GB300": 13824, "H200": 512, "H100": 256},
			NameplateKW: map[string]int{"par": 25037, "fra": 486, "iad": 243},
			EnvelopeKW:  map[string]int{"par": 21800, "fra": 440, "iad": 220}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := statsOf(loadExample(t, tt.file))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParisTopology(t *testing.T) {
	f := loadExample(t, "paris.yaml")
	byName := map[string]model.Node{}
	for _, n := range f.Nodes {
		byName[n.Name] = n
	}
	want := []model.Node{
		{Name: "gb300-a001-01", Site: "par", Hall: "par/h1", Rack: "par/h1/a001", NVLinkDomain: "par/h1/a001-nvl01",
			Leaf: "par/h1/a001-leaf01", Spine: "par-h1-spine", GPUModel: "GB300", GPUs: 4, CPUs: 144, MemoryGiB: 960, BaseWatts: 1600},
		{Name: "gb300-b096-18", Site: "par", Hall: "par/h2", Rack: "par/h2/b096", NVLinkDomain: "par/h2/b096-nvl01",
			Leaf: "par/h2/b096-leaf02", Spine: "par-h2-spine", GPUModel: "GB300", GPUs: 4, CPUs: 144, MemoryGiB: 960, BaseWatts: 1600},
		{Name: "stor-h2-s4-16", Site: "par", Hall: "par/h2", Rack: "par/h2/s4", NVLinkDomain: "stor-h2-s4-16",
			Leaf: "par/h2/s4", Spine: "par-h2-spine", CPUs: 64, MemoryGiB: 512, BaseWatts: 1200},
		{Name: "h200-r16-4", Site: "fra", Hall: "fra/h1", Rack: "fra/h1/r16", NVLinkDomain: "h200-r16-4",
			Leaf: "fra/h1/r16", Spine: "fra-spine", GPUModel: "H200", GPUs: 8, CPUs: 112, MemoryGiB: 2048, BaseWatts: 2000},
	}
	for _, w := range want {
		if diff := cmp.Diff(w, byName[w.Name]); diff != "" {
			t.Errorf("node %s (-want +got):\n%s", w.Name, diff)
		}
	}
	domains := map[string]int{}
	for _, n := range f.Nodes {
		if n.GPUModel == "GB300" {
			domains[n.NVLinkDomain] += n.GPUs
		}
	}
	for d, gpus := range domains {
		if gpus != 72 {
			t.Errorf("NVLink domain %s has %d GPUs, want 72", d, gpus)
		}
	}
	if len(domains) != 192 {
		t.Errorf("%d GB300 NVLink domains, want 192", len(domains))
	}
}

func TestExpandPattern(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"node", []string{"node"}},
		{"gpu[001-003]", []string{"gpu001", "gpu002", "gpu003"}},
		{"gpu[08-10]", []string{"gpu08", "gpu09", "gpu10"}},
		{"a[1-3,7]", []string{"a1", "a2", "a3", "a7"}},
		{"h100-[1-2]x", []string{"h100-1x", "h100-2x"}},
		{"r[1-2]n[1-2]", []string{"r1n1", "r1n2", "r2n1", "r2n2"}},
		{"a[9-11]", []string{"a9", "a10", "a11"}},
	}
	for _, tt := range tests {
		got, err := expandPattern(tt.in)
		if err != nil {
			t.Errorf("expandPattern(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("expandPattern(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, bad := range []string{"a[", "a]", "a[]", "a[1-]", "a[-1]", "a[2-1]", "a[1-2[3]]", "a[x]", "a[1-9999999]", "a[1-1000]b[1-1000]"} {
		if _, err := expandPattern(bad); err == nil {
			t.Errorf("expandPattern(%q) = nil error, want one", bad)
		}
	}
}

func TestCatalogOverride(t *testing.T) {
	y := edit(t, "name: t\n", `name: t
gpu_models:
  H100: {tdp_watts: 650, max_cap_watts: 650}
  X1: {vendor: acme, memory_gib: 64, tdp_watts: 300, idle_watts: 30, bf16_tflops: 100, min_cap_watts: 100, max_cap_watts: 300}
`)
	f, err := Load("t.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := catalog["H100"]
	want.TDPWatts, want.MaxCapWatts = 650, 650
	want.Source += "; overridden in t.yaml: tdp_watts, max_cap_watts"
	if diff := cmp.Diff(want, f.GPUModels["H100"]); diff != "" {
		t.Errorf("H100 (-want +got):\n%s", diff)
	}
	wantX := model.GPUModel{Name: "X1", Vendor: "acme", MemoryGiB: 64, TDPWatts: 300, IdleWatts: 30, MinCapWatts: 100, MaxCapWatts: 300, BF16TFLOPS: 100, Source: "defined in t.yaml"}
	if diff := cmp.Diff(wantX, f.GPUModels["X1"]); diff != "" {
		t.Errorf("X1 (-want +got):\n%s", diff)
	}
	if Catalog()["H100"].TDPWatts != 700 {
		t.Error("a file's override leaked into the built-in catalog")
	}

	_, err = Load("t.yaml", []byte(edit(t, "name: t\n", "name: t\ngpu_models:\n  X2: {tdp_watts: 300}\n")))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:3: gpu_models.X2.vendor: missing required field; X2 is not in the built-in catalog") {
		t.Errorf("new model without fields: got %v", err)
	}
}

func TestCatalog(t *testing.T) {
	want := []string{"A100", "B200", "GB200", "GB300", "H100", "H200", "MI300X"}
	c := Catalog()
	if diff := cmp.Diff(strings.Join(want, ", "), knownModels(c)); diff != "" {
		t.Errorf("catalog models (-want +got):\n%s", diff)
	}
	for name, g := range c {
		if g.Name != name || g.TDPWatts <= 0 || g.IdleWatts <= 0 || g.IdleWatts >= g.TDPWatts || g.MemoryGiB <= 0 || g.BF16TFLOPS <= 0 || g.Source == "" || g.Vendor == "" {
			t.Errorf("%s: incomplete entry %+v", name, g)
		}
		if g.MinCapWatts > 0 && (g.MaxCapWatts < g.MinCapWatts || g.MaxCapWatts > g.TDPWatts) {
			t.Errorf("%s: bad cap range %d-%d", name, g.MinCapWatts, g.MaxCapWatts)
		}
	}
	if len(countries) != 249 || len(eu) != 27 {
		t.Errorf("%d countries, %d EU members; want 249 and 27", len(countries), len(eu))
	}
}

func TestDefaults(t *testing.T) {
	f, err := Load("t.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(model.DefaultPolicy(), f.Policy); diff != "" {
		t.Errorf("policy (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(defaultClasses(), f.PriorityClasses); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	s := f.Sites[0]
	if diff := cmp.Diff([]string{"EU", "FR"}, s.Jurisdictions); diff != "" || s.GridZone != "FR" || s.Name != "s1" {
		t.Errorf("site defaults: %+v", s)
	}
	n := f.Nodes[0]
	if n.NVLinkDomain != "n1" || n.Leaf != "s1/h1/r1" || n.Spine != "s1/h1" || f.Racks[0].Cooling != model.CoolingAir {
		t.Errorf("node defaults: %+v", n)
	}
	tn := f.Tenants[0]
	if tn.FairShareWeight != 1 || tn.Exclusive != model.ExclusiveGPU || tn.Quota["H100"].BorrowingLimit != nil {
		t.Errorf("tenant defaults: %+v", tn)
	}
}

// FuzzLoad: no file makes Load panic or fail without a place, and none
// makes it do more work than the limits allow (the files that once did
// are seeds in testdata/fuzz/FuzzLoad; limits_test.go has each as a
// test). paris.yaml (1,725 nodes) is left to the unit tests: it loads
// in about 10 ms under the fuzzer's instrumentation, a hundred times a
// small file, and the fuzzer spends its minutes minimizing inputs made
// from it (its count of executions showed 0/s for most of a minute).
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"small.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	for _, s := range []string{
		"", "a", "name: [", "- 1", "name: t\nsites: {}", "name: &a x\nsites: *a",
		"name: t\nsites:\n  - <<: *nope\n", "x: &a [*a]", "name: t\nsites: [{id: s, halls: [{id: h, racks: [{id: 'r[1-3]', nodes: [{names: 'n[1-99999]'}]}]}]}]",
		"name: t\ncohorts: [{name: a, parent: b}, {name: b, parent: a}]",
		"name: t\ngpu_models: {X: {tdp_watts: -1}}", "name: t\npolicy: {carbon_weight: .nan}",
	} {
		f.Add([]byte(s))
	}
	// numbers that are no whole number where one is due, sets with a
	// repeated item
	for _, r := range [][2]string{{"gpus: 8", "gpus: 1e3"}, {"gpus: 8", "gpus: .inf"}, {"cpus: 64", "cpus: 9223372036854775808"},
		{"nominal: 16", "nominal: 99999999999999999999"}, {"memory_gib: 512", "memory_gib: 5.12e2"}, {"pue: 1.2", "pue: 12e-1"},
		{"    cohort: c1\n", "    cohort: c1\n    priority_classes: [high, low, high]\n    jurisdictions: [FR, FR]\n"},
		{"country: FR", "country: FR\n    jurisdictions: [EU, FR, EU]"}} {
		f.Add([]byte(strings.Replace(base, r[0], r[1], 1)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fac, w, err := load("f.yaml", data)
		if w.named > maxNodes || w.values > maxValues+len(data) {
			t.Fatalf("%d names made, %d values decoded: past the limits", w.named, w.values)
		}
		if err == nil {
			if fac == nil {
				t.Fatal("nil facility without error")
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error is not Errors: %v", err)
		}
		for _, e := range errs {
			if e.File != "f.yaml" || e.Line < 0 {
				t.Fatalf("error without a place: %#v", e)
			}
			if strings.Contains(e.Msg, "internal error") {
				t.Fatalf("panic inside Load: %v", e)
			}
		}
	})
}
