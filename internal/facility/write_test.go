package facility_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

// roundTrip writes f, loads the text back and returns both.
func roundTrip(t *testing.T, f *model.Facility) (*model.Facility, []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := facility.Write(&b, f); err != nil {
		t.Fatalf("Write: %v", err)
	}
	g, err := facility.Load("written.yaml", b.Bytes())
	if err != nil {
		t.Fatalf("Load of the written file: %v\n%s", err, firstLines(b.String(), 60))
	}
	return g, b.Bytes()
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func TestWriteExamples(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxLines int // compactness: node groups and folded names
	}{{"small.yaml", 60}, {"paris.yaml", 1500}} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := facility.LoadFile(filepath.Join("..", "..", "examples", tc.name))
			if err != nil {
				t.Fatal(err)
			}
			g, text := roundTrip(t, f)
			if diff := cmp.Diff(f, g); diff != "" {
				t.Errorf("loaded back (-want +got):\n%s", diff)
			}
			if n := bytes.Count(text, []byte("\n")); n > tc.maxLines {
				t.Errorf("%d lines, want at most %d", n, tc.maxLines)
			}
			_, again := roundTrip(t, g)
			if !bytes.Equal(text, again) {
				t.Errorf("writing the loaded facility again gives other bytes")
			}
		})
	}
}

// TestWriteGenerated round-trips the benchmark facility. It loads back
// with qualified hall and rack IDs and the whole catalog, as Write
// documents; everything else is equal. Five sites give a site id with a
// counter (fr-par-2); above 1,024 nodes a site has two halls, and with
// one hall the generated hall cap would exceed the site's envelope.
func TestWriteGenerated(t *testing.T) {
	gen := workload.GenerateFacility(workload.FacilityConfig{Nodes: 5150, Sites: 5, Tenants: 20, Cohorts: 3, Seed: 7})
	g, text := roundTrip(t, gen)
	if diff := cmp.Diff(qualified(gen), g); diff != "" {
		t.Errorf("loaded back (-want +got):\n%s", diff)
	}
	h, again := roundTrip(t, g)
	if diff := cmp.Diff(g, h); diff != "" {
		t.Errorf("second round trip (-want +got):\n%s", diff)
	}
	if !bytes.Equal(text, again) {
		t.Errorf("writing the loaded facility again gives other bytes")
	}
	if !bytes.Contains(text, []byte(`names: "fr-par-h1-r001-n[01-09]"`)) {
		t.Errorf("NVLink rack not written as one node group:\n%s", firstLines(string(text), 40))
	}
}

// qualified is gen as Load returns it: hall and rack IDs qualified by
// their site and hall, the catalog's models added, tenants' tenancy
// mode defaulted.
func qualified(gen *model.Facility) *model.Facility {
	f := *gen
	f.GPUModels = facility.Catalog()
	for k, m := range gen.GPUModels {
		f.GPUModels[k] = m
	}
	hallID, rackID := map[string]string{}, map[string]string{}
	f.Halls = append([]model.Hall(nil), gen.Halls...)
	for i := range f.Halls {
		h := &f.Halls[i]
		hallID[h.ID] = h.Site + "/" + h.ID
		h.ID = hallID[h.ID]
	}
	f.Racks = append([]model.Rack(nil), gen.Racks...)
	for i := range f.Racks {
		r := &f.Racks[i]
		r.Hall = hallID[r.Hall]
		rackID[r.ID] = r.Hall + "/" + r.ID
		r.ID = rackID[r.ID]
	}
	f.Nodes = append([]model.Node(nil), gen.Nodes...)
	for i := range f.Nodes {
		n := &f.Nodes[i]
		n.Hall, n.Rack = hallID[n.Hall], rackID[n.Rack]
	}
	f.Tenants = append([]model.Tenant(nil), gen.Tenants...)
	for i := range f.Tenants {
		if f.Tenants[i].Exclusive == "" {
			f.Tenants[i].Exclusive = model.ExclusiveGPU
		}
	}
	return &f
}

// oddFacility uses what the examples do not: a new and an overridden GPU
// model, names YAML would read as other types, text that needs quoting,
// data classes, cohort weights, quota limits, a non-default policy,
// racks cooled unlike their hall, mixed node groups in one rack.
func oddFacility() *model.Facility {
	gm := facility.Catalog()
	h := gm["H100"]
	h.TDPWatts, h.MaxCapWatts, h.Source = 650, 650, `fleet limit: 650 W, "measured"`
	gm["H100"] = h
	gm["X1"] = model.GPUModel{Name: "X1", Vendor: "acme", MemoryGiB: 64, TDPWatts: 300, IdleWatts: 30, BF16TFLOPS: 100.25, Source: "defined in x"}
	five := 5
	zero := 0
	node := func(name, rack string, gpus int, leaf, nvl string) model.Node {
		n := model.Node{Name: name, Site: "123", Hall: "123/true", Rack: "123/true/" + rack, NVLinkDomain: nvl, Leaf: leaf,
			Spine: "123/true", GPUModel: "H100", GPUs: gpus, CPUs: 64, MemoryGiB: 512, BaseWatts: 1000.5}
		if gpus == 0 {
			n.GPUModel = ""
		}
		if nvl == "" {
			n.NVLinkDomain = name
		}
		return n
	}
	return &model.Facility{
		Name:      "odd",
		GPUModels: gm,
		Sites: []model.Site{{ID: "123", Name: "Zürich: lab #1", Country: "CH", Operator: "Acme \"AG\"\ttab",
			Jurisdictions: []string{"CH"}, PowerEnvelopeKW: 100.125, PUE: 1.1, GridZone: "CH-1"}},
		Halls: []model.Hall{{ID: "123/true", Site: "123", PowerCapKW: 90, Cooling: model.CoolingLiquid, CoolingCapacityKW: 95.5}},
		Racks: []model.Rack{
			{ID: "123/true/r1", Hall: "123/true", PowerCapKW: 40, Cooling: model.CoolingAir},
			{ID: "123/true/null", Hall: "123/true", Cooling: model.CoolingLiquid},
		},
		Nodes: []model.Node{
			node("n9", "r1", 4, "123/true/r1", ""), node("n10", "r1", 4, "123/true/r1", ""),
			node("n11", "r1", 4, "leaf-b", "nvl"), node("n12", "r1", 4, "leaf-b", "nvl"),
			node("cpu08", "r1", 0, "123/true/r1", ""), node("cpu09", "r1", 0, "123/true/r1", ""),
			node("cpu10", "r1", 0, "123/true/r1", ""), node("007", "null", 2, "123/true/null", ""),
		},
		Cohorts: []model.Cohort{{Name: "root"}, {Name: "yes", Parent: "root", FairShareWeight: 2.5,
			Quota: map[string]model.Quota{"H100": {Nominal: 8}}}},
		Tenants: []model.Tenant{
			{Name: "on", Cohort: "yes", FairShareWeight: 3, Jurisdictions: []string{"CH"}, PriorityClasses: []string{"p1"},
				Exclusive: model.ExclusiveNode, Quota: map[string]model.Quota{"H100": {Nominal: 8, BorrowingLimit: &five, LendingLimit: &zero}}},
			{Name: "b", FairShareWeight: 1, Exclusive: model.ExclusiveGPU},
		},
		PriorityClasses: []model.PriorityClass{{Name: "p1", Value: -3, Preemptible: true}, {Name: "p2", Value: 7}},
		DataClasses:     map[string][]string{"health": {"CH"}},
		Policy: model.Policy{FairShare: false, FairShareHalfLife: 90 * model.Minute, Quotas: true, Preemption: false,
			PreemptionRateLimit: 3, PreemptionWindow: 2 * model.Hour, BackfillDepth: 4, Power: true, PowerCapping: false,
			CappedSpeedExponent: 1.25, Deferral: true, NoDeferralBooking: true, CarbonWeight: 0.3, Sovereignty: true},
	}
}

func TestWriteOdd(t *testing.T) {
	f := oddFacility()
	f.Policy.VictimRatio, f.Policy.ReclaimMinRun = 0, 0 // bounds off: written as 0 and 0s
	f.Policy.Outside = model.OutsideRequeue
	f.Policy.BorrowPreemptibleOnly = true
	f.Policy.Preemption, f.Policy.Reclaim, f.Policy.ReclaimAnySize = true, true, true
	g, text := roundTrip(t, f)
	if diff := cmp.Diff(f, g); diff != "" {
		t.Errorf("loaded back (-want +got):\n%s\n%s", diff, text)
	}
	for _, want := range []string{"outside_jurisdiction: requeue", "borrowing: preemptible", "reclaim_victims: any", `names: "cpu[08-10]"`, `names: "n[9-10]"`, `names: "n[11-12]"`, `"007"`} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("output lacks %s:\n%s", want, text)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(f *model.Facility)
		wantS string
	}{
		{"node without rack", func(f *model.Facility) { f.Nodes[0].Rack = "nowhere" }, `rack "nowhere" is not in the facility`},
		{"rack without hall", func(f *model.Facility) { f.Racks[1].Hall = "nowhere" }, `hall "nowhere" is not in the facility`},
		{"hall without site", func(f *model.Facility) { f.Halls[0].Site = "nowhere" }, `site "nowhere" is not in the facility`},
		{"braces", func(f *model.Facility) { f.Nodes[2].Leaf = "{x}" }, "brace"},
		{"bracket in name", func(f *model.Facility) { f.Nodes[0].Name = "n[1]" }, "bracket"},
		{"not finite", func(f *model.Facility) { f.Sites[0].PUE = 1 / zero() }, "not a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := oddFacility()
			tc.edit(f)
			err := facility.Write(&bytes.Buffer{}, f)
			if err == nil || !strings.Contains(err.Error(), tc.wantS) {
				t.Errorf("Write: %v, want an error with %q", err, tc.wantS)
			}
		})
	}
	if err := facility.Write(failWriter{}, oddFacility()); err == nil {
		t.Error("Write to a failing writer succeeded")
	}
}

func zero() float64 { return 0 }

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWritePowerRecap(t *testing.T) {
	f := oddFacility()
	f.Policy.PowerCapping, f.Policy.PowerRecap = true, true
	g, text := roundTrip(t, f)
	if diff := cmp.Diff(f, g); diff != "" {
		t.Errorf("loaded back (-want +got):\n%s\n%s", diff, text)
	}
	if !bytes.Contains(text, []byte("power_recap: true")) {
		t.Errorf("output lacks power_recap: true:\n%s", text)
	}
}
