package trace

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
)

// Fitting added up the replicas the nodes of every site and every
// accepted model hold, but the scheduler starts a gang on one model, and
// a gang that must stay in one site (a Philly job's topology is site)
// in one site; the job-file loader refuses such a gang, so `carnot
// workload philly` wrote a job it then could not read back ("a bug of
// carnot workload philly"). Fitting counts as the core does, and keeps
// only jobs the loader accepts.
func TestFittingKeepsWhatTheLoaderAccepts(t *testing.T) {
	f := HeliosFacility(map[string]int{"a": 1}, 1, FacilityOptions{})
	f.GPUModels["H200"] = model.GPUModel{Name: "H200", TDPWatts: 700, IdleWatts: 100}
	site, hall := f.Sites[0], f.Halls[0]
	site.ID, hall.ID, hall.Site = "two", "two-hall", "two"
	f.Sites, f.Halls = append(f.Sites, site), append(f.Halls, hall)
	f.Racks = append(f.Racks, model.Rack{ID: "two-rack", Hall: "two-hall"})
	n := f.Nodes[0] // a site of one node of 8 GPUs, and one with 8 H100s and 8 H200s
	for _, m := range []string{n.GPUModel, "H200"} {
		o := n
		o.Name, o.Site, o.Hall, o.Rack, o.GPUModel = "two-"+m, "two", "two-hall", "two-rack", m
		o.NVLinkDomain, o.Leaf = "", ""
		f.Nodes = append(f.Nodes, o)
	}
	jobs := phillyJobs(t,
		"2017-10-01 00:00:00,60,8,480,a",  // philly-1: fits
		"2017-10-01 00:00:01,60,16,960,a", // philly-2: 2 × 8 in one site, of one model: none holds it
	)
	kept, _ := Fitting(f, jobs)
	if diff := cmp.Diff([]string{"philly-1"}, ids(kept)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	var b bytes.Buffer
	if err := jobspec.Write(&b, kept); err != nil {
		t.Fatal(err)
	}
	if _, err := jobspec.Load("kept.jsonl", b.Bytes(), f); err != nil {
		t.Errorf("the loader refuses jobs Fitting kept: %v", err)
	}
}
