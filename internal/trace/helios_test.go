package trace

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
	"github.com/google/go-cmp/cmp"
)

func TestReadVCNodes(t *testing.T) {
	got, err := ReadVCNodes("vc.csv", strings.NewReader("vc,node num\r\n6214e9,64\r\ned69ec,8\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"6214e9": 64, "ed69ec": 8}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReadVCNodesErrors(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
	}{
		{"empty", "", []string{"vc.csv:1: empty file; the first line must be the header vc,node num"}},
		{"header only", "vc,node num\n", []string{"vc.csv:1: no VCs; add one row per VC after the header"}},
		{"missing column", "vc,nodes\na,1\n", []string{"vc.csv:1: node num: missing column; the first line must be the header vc,node num"}},
		{"bad rows", "vc,node num\na,1\na,2\nb,0\nc,x\n!,3\nd\n", []string{
			"vc.csv:3:1: vc: VC a is already sized on line 2; keep one row per VC",
			`vc.csv:4:3: node num: "0" is not a whole number of nodes from 1 to 100000`,
			`vc.csv:5:3: node num: "x" is not a whole number of nodes from 1 to 100000`,
			`vc.csv:6:1: vc: "!" is not a virtual-cluster id; use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63 characters)`,
			"vc.csv:7:1: row has 1 fields, the header 2; every row needs one value per header column",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ReadVCNodes("vc.csv", strings.NewReader(tt.data))
			var list Errors
			if m != nil || !errors.As(err, &list) {
				t.Fatalf("got %v, %v; want Errors", m, err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// siteNodes counts each site's nodes and GPUs.
func siteNodes(f *model.Facility) map[string]int {
	m := map[string]int{}
	for _, n := range f.Nodes {
		if n.GPUs != 8 || n.GPUModel != PhillyGPU.Name {
			panic(fmt.Sprintf("node %s: %d × %s", n.Name, n.GPUs, n.GPUModel))
		}
		m[n.Site]++
	}
	return m
}

func TestHeliosFacility(t *testing.T) {
	vcs := map[string]int{"b": 10, "a": 1, "c": 3}
	f := HeliosFacility(vcs, 0.5, FacilityOptions{TenantPrefix: "vc-"})
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 5, "c": 2}, siteNodes(f)); diff != "" {
		t.Errorf("nodes by site at ×0.5 (-want +got):\n%s", diff) // 0.5 → 1 (at least 1), 1.5 → 2
	}
	var sites, tenants []string
	for i, s := range f.Sites {
		sites = append(sites, s.ID)
		tn := f.Tenants[i]
		tenants = append(tenants, tn.Name)
		tag := "VC-" + strings.ToUpper(s.ID)
		if !cmp.Equal(s.Jurisdictions, []string{"US", tag}) || !cmp.Equal(tn.Jurisdictions, []string{tag}) {
			t.Errorf("site %s tags %v, tenant %s allowed %v; want [US %s] and [%[5]s]", s.ID, s.Jurisdictions, tn.Name, tn.Jurisdictions, tag)
		}
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, sites); diff != "" {
		t.Errorf("sites (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"vc-a", "vc-b", "vc-c"}, tenants); diff != "" {
		t.Errorf("tenants (-want +got):\n%s", diff)
	}
	p := f.Policy
	if p.Quotas || p.Preemption || p.Reclaim || p.Backfill || p.FairShare || p.Deferral || p.PowerCapping || !p.Topology || !p.Sovereignty {
		t.Errorf("policy %+v; want FIFO, non-preemptive, topology-aware", p)
	}
	if got := HeliosFacility(vcs, -1, FacilityOptions{}); len(got.Nodes) != 14 {
		t.Errorf("scale -1 gave %d nodes, want 14 (scale 1)", len(got.Nodes))
	}
	if f.Sites[1].PowerEnvelopeKW != 5*2.4 || len(f.Racks) != 3 || f.Nodes[1].Rack != "b-h1-r01" {
		t.Errorf("site b envelope %g kW, %d racks, node %+v", f.Sites[1].PowerEnvelopeKW, len(f.Racks), f.Nodes[1])
	}
}

// TestHeliosFacilityWithCore schedules trace jobs on the facility with
// the production core and checks the plan with plan.Verify: every VC's
// jobs start on its own nodes only.
func TestHeliosFacilityWithCore(t *testing.T) {
	jobs, err := LoadPhilly("testdata/philly-sample.csv", Options{TenantPrefix: "vc-"})
	if err != nil {
		t.Fatal(err)
	}
	vcs := map[string]int{}
	for _, j := range jobs {
		vcs[strings.TrimPrefix(j.Tenant, "vc-")] = 4 // 32 GPUs: room for the largest sample job
	}
	f := HeliosFacility(vcs, 1, FacilityOptions{TenantPrefix: "vc-"})
	snap := &model.Snapshot{Facility: f, Pending: jobs}
	now := jobs[len(jobs)-1].SubmitTime
	p := sched.Schedule(snap, now)
	if err := plan.Verify(snap, &p); err != nil {
		t.Fatalf("plan.Verify rejects the core's plan:\n%v", err)
	}
	if len(p.Starts) < len(vcs) {
		t.Errorf("only %d starts for %d VCs", len(p.Starts), len(vcs))
	}
	site := map[string]string{}
	for _, n := range f.Nodes {
		site[n.Name] = n.Site
	}
	tenant := map[string]string{}
	for _, j := range jobs {
		tenant[j.ID] = j.Tenant
	}
	for _, s := range p.Starts {
		for _, r := range s.Replicas {
			if "vc-"+site[r.Node] != tenant[s.Job] {
				t.Errorf("job %s of %s starts on %s of VC %s", s.Job, tenant[s.Job], r.Node, site[r.Node])
			}
		}
	}
	// A start on another VC's node is a violation.
	var other string
	for _, n := range f.Nodes {
		if "vc-"+n.Site != jobs[0].Tenant {
			other = n.Name
			break
		}
	}
	bad := model.Plan{Now: now, Starts: []model.Start{{Job: jobs[0].ID, Replicas: []model.Placement{{Node: other, GPUs: seq(jobs[0].GPUsPerReplica)}}}}}
	for _, j := range jobs[1:] {
		bad.Pending = append(bad.Pending, model.Pending{Job: j.ID, Code: model.ReasonPriority, Message: "later"})
	}
	if jobs[0].Replicas != 1 {
		t.Fatalf("first sample job is a gang of %d; the check wants one replica", jobs[0].Replicas)
	}
	if err := plan.Verify(snap, &bad); err == nil || !strings.Contains(err.Error(), "jurisdiction") {
		t.Errorf("Verify of a start on another VC = %v, want a jurisdiction violation", err)
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestVCTagsDistinct(t *testing.T) {
	f := HeliosFacility(map[string]int{"a.b": 1, "A_B": 1, "a_b": 1}, 1, FacilityOptions{})
	var got [][]string
	for _, tn := range f.Tenants {
		got = append(got, tn.Jurisdictions)
	}
	if diff := cmp.Diff([][]string{{"VC-A_B"}, {"VC-A_B-2"}, {"VC-A_B-3"}}, got); diff != "" {
		t.Errorf("tenant tags (-want +got):\n%s", diff)
	}
}

// TestHeliosFacilityRoundTrip writes the facility in the facility format
// and loads it back: the result is a valid facility description.
func TestHeliosFacilityRoundTrip(t *testing.T) {
	f := HeliosFacility(map[string]int{"6214e9": 9, "ed69ec": 1}, 1, FacilityOptions{TenantPrefix: "vc-"})
	var buf bytes.Buffer
	if err := facility.Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	g, err := facility.Load("helios.yaml", buf.Bytes())
	if err != nil {
		t.Fatalf("facility.Load of the written facility:\n%v\n%s", err, buf.String())
	}
	if len(g.Nodes) != 10 || len(g.Sites) != 2 || len(g.Tenants) != 2 || !cmp.Equal(g.Tenants[0].Jurisdictions, []string{"VC-6214E9"}) {
		t.Errorf("loaded %d nodes, %d sites, tenants %+v", len(g.Nodes), len(g.Sites), g.Tenants)
	}
}

func TestHeliosFacilityRealSizes(t *testing.T) {
	vcs, err := LoadVCNodes(sharedFile(t, "philly-vc-nodes.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(vcs) != 11 {
		t.Errorf("%d VCs, want 11", len(vcs))
	}
	for _, tt := range []struct {
		scale float64
		nodes int
	}{{1, 352}, {0.5, 176}, {0.25, 88}} {
		f := HeliosFacility(vcs, tt.scale, FacilityOptions{})
		got := siteNodes(f)
		total := 0
		for vc, n := range vcs {
			total += got[vc]
			if want := max(1, int(float64(n)*tt.scale+0.5)); got[vc] != want {
				t.Errorf("×%g: VC %s has %d nodes, want %d", tt.scale, vc, got[vc], want)
			}
		}
		if total != tt.nodes || len(f.Sites) != 11 || len(f.Tenants) != 11 {
			t.Errorf("×%g: %d nodes in %d sites for %d tenants, want %d in 11 for 11", tt.scale, total, len(f.Sites), len(f.Tenants), tt.nodes)
		}
		t.Logf("×%g: %d nodes, %d GPUs", tt.scale, total, 8*total)
	}
	if got := vcs["6214e9"]; got != 64 {
		t.Errorf("VC 6214e9 has %d nodes, want 64", got)
	}
	var buf bytes.Buffer
	for _, s := range HeliosFacility(vcs, 0.25, FacilityOptions{}).Sites {
		fmt.Fprintf(&buf, " %s=%d", s.ID, int(s.PowerEnvelopeKW*1000/(8*250+400)))
	}
	t.Logf("nodes at ×0.25:%s", buf.String())
}
