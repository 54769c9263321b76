package jobspec

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// The loader's checks of a gang's size stand for the scheduler's own
// judgment: these tests run the core (sched.Schedule, one pass with the
// job alone on the empty facility, which is the most it ever has) on the
// jobs the checks refuse, which it must never start, and on those they
// accept at the boundary, which it must start.

// coreFacility is testFacility with H100 nodes in every site: par (EU,
// FR) 2 H100 nodes of 8; nyc (US) 2 H100 nodes of 8 and an H200 node of
// 4; ber (EU, DE) 1 H100 node of 8; data classes eu-only (EU) and
// de-only (DE); quotas off.
func coreFacility() *model.Facility {
	fac := testFacility()
	fac.Nodes = append(fac.Nodes,
		model.Node{Name: "h100-3", Site: "nyc", GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048},
		model.Node{Name: "h100-4", Site: "nyc", GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048},
		model.Node{Name: "h100-5", Site: "ber", GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048})
	fac.DataClasses = map[string][]string{"eu-only": {"EU"}, "de-only": {"DE"}}
	fac.Policy.Quotas = false // its tenants have none: each would get no GPU
	return placed(fac)
}

// placed puts the nodes of each site of fac in a hall and a rack of
// that site, as a facility file does (a node is listed in a rack of a
// hall of a site): the core's groups are keyed by hall and rack, and
// nodes with none would share one across sites.
func placed(fac *model.Facility) *model.Facility {
	fac.Halls, fac.Racks = nil, nil
	for _, s := range fac.Sites {
		fac.Halls = append(fac.Halls, model.Hall{ID: s.ID + "-hall", Site: s.ID})
	}
	for i := range fac.Nodes {
		n := &fac.Nodes[i]
		n.Hall, n.Rack = n.Site+"-hall", n.Site+"-rack"
	}
	for _, h := range fac.Halls {
		fac.Racks = append(fac.Racks, model.Rack{ID: h.Site + "-rack", Hall: h.ID})
	}
	return fac
}

// coreStarts runs one pass of the core with j pending alone on fac,
// empty, and says whether j starts, else its reason.
func coreStarts(fac *model.Facility, j *model.Job) (bool, string) {
	c := *j
	p := sched.Schedule(&model.Snapshot{Facility: fac, Pending: []*model.Job{&c}}, 1_767_225_600)
	for _, s := range p.Starts {
		if s.Job == j.ID {
			return true, ""
		}
	}
	for _, w := range p.Pending {
		if w.Job == j.ID {
			return false, w.Message
		}
	}
	return false, "neither started nor pending"
}

// loadForCore loads one job against fac and returns it as the core would
// read it: the loader's own when it accepts it, else the job as written
// with the defaults (the loader without a facility). problems are the
// facility's errors.
func loadForCore(t *testing.T, fac *model.Facility, line string) (j *model.Job, problems []string) {
	t.Helper()
	jobs, err := Load("core.jsonl", []byte(line+"\n"), fac)
	if err == nil {
		return jobs[0], nil
	}
	problems = errLines(t, err)
	jobs, err = Load("core.jsonl", []byte(line+"\n"), nil)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return jobs[0], problems
}

// TestSizeChecksAtTheCoresBoundary: at each check's boundary, the job
// the loader accepts starts, and the one a replica larger, which it
// refuses, never does.
func TestSizeChecksAtTheCoresBoundary(t *testing.T) {
	fac := coreFacility()
	for _, tc := range []struct {
		name   string
		job    string // without replicas (and min_replicas for a deployment)
		fits   int    // the most replicas the core starts
		field  string // where the loader refuses one more
		minRep bool   // a deployment: vary min_replicas, replicas 12
	}{
		{"any model, spanning", `"tenant": "acme", "gpus": 4, "topology": "any"`, 10, "replicas", false},
		{"H200 alone", `"tenant": "acme", "gpus": 4, "gpu_model": "H200", "topology": "any"`, 1, "replicas", false},
		{"whole replicas", `"tenant": "acme", "gpus": 3, "gpu_model": ["H100"], "topology": "any"`, 10, "replicas", false},
		{"one site", `"tenant": "acme", "gpus": 4`, 4, "replicas", false},
		{"one site, tighter level", `"tenant": "acme", "gpus": 8, "topology": {"level": "rack", "required": true}`, 2, "replicas", false},
		{"tenant's sites", `"tenant": "eu-lab", "gpus": 8, "gpu_model": "H100", "topology": "any"`, 3, "replicas", false},
		{"tenant's sites, one site", `"tenant": "eu-lab", "gpus": 8, "gpu_model": "H100"`, 2, "replicas", false},
		{"job's sites", `"tenant": "acme", "gpus": 8, "topology": "any", "jurisdictions": ["US"]`, 2, "replicas", false},
		{"data class's sites", `"tenant": "acme", "gpus": 4, "topology": "any", "data_class": "de-only"`, 2, "replicas", false},
		{"deployment, min_replicas", `"kind": "deployment", "tenant": "acme", "gpus": 8`, 5, "min_replicas", true},
		{"deployment, tenant's sites", `"kind": "deployment", "tenant": "us-co", "gpus": 4, "gpu_model": "H100"`, 4, "min_replicas", true},
		{"deployment, all replicas", `"kind": "deployment", "tenant": "fr-co", "gpus": 8`, 2, "replicas", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{tc.fits, tc.fits + 1} {
				line := fmt.Sprintf(`{"id": "j", %s, "replicas": %d}`, tc.job, n)
				if tc.minRep {
					line = fmt.Sprintf(`{"id": "j", %s, "replicas": 12, "min_replicas": %d}`, tc.job, n)
				}
				j, problems := loadForCore(t, fac, line)
				started, why := coreStarts(fac, j)
				switch {
				case n == tc.fits && len(problems) > 0:
					t.Errorf("%s: refused %q; the core starts it", line, problems)
				case n == tc.fits && !started:
					t.Errorf("%s: accepted, but the core does not start it: %s", line, why)
				case n > tc.fits && len(problems) != 1 || n > tc.fits && !strings.Contains(problems[0], "jobs[0]."+tc.field+":"):
					t.Errorf("%s: errors %q; want one at %s", line, problems, tc.field)
				case n > tc.fits && started:
					t.Errorf("%s: refused (%s), but the core starts it", line, problems[0])
				}
			}
		})
	}
}

// TestSizeChecksAgreeWithTheCore draws facilities and jobs: a job the
// loader refuses with the facility never starts on it, even empty, and
// one it accepts starts on it empty (the facilities have no power
// limits, quotas or CPU and memory requests, which the loader leaves
// to the scheduler). A job the loader refuses is run as written, one it
// accepts as stored (its jurisdictions narrowed): the two must leave it
// the same sites.
func TestSizeChecksAgreeWithTheCore(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	pick := func(opts ...string) string { return opts[r.IntN(len(opts))] }
	refused, accepted, size := 0, 0, 0
	for i := range 3000 {
		fac := coreFacility()
		fac.Sites = append(fac.Sites, model.Site{ID: "ams", Country: "NL", Jurisdictions: []string{"EU", "NL"}})
		fac.Tenants = append(fac.Tenants, model.Tenant{Name: "fr-de", Jurisdictions: []string{"FR", "DE"}})
		fac.Nodes = nil
		for _, site := range []string{"par", "nyc", "ber", "ams"} {
			for k := range r.IntN(5) {
				fac.Nodes = append(fac.Nodes, model.Node{Name: fmt.Sprintf("%s-%d", site, k), Site: site,
					GPUModel: pick("H100", "H200"), GPUs: []int{1, 2, 4, 8}[r.IntN(4)], CPUs: 112, MemoryGiB: 2048})
			}
		}
		placed(fac)
		fields := []string{fmt.Sprintf(`"id": "j%d"`, i), `"tenant": "` + pick("acme", "eu-lab", "us-co", "fr-co", "fr-de") + `"`,
			fmt.Sprintf(`"gpus": %d`, []int{1, 2, 3, 4, 8}[r.IntN(5)])}
		replicas := 1 + r.IntN(6)
		fields = append(fields, fmt.Sprintf(`"replicas": %d`, replicas))
		if r.IntN(4) == 0 {
			fields = append(fields, `"kind": "deployment"`)
			if r.IntN(2) == 0 {
				fields = append(fields, fmt.Sprintf(`"min_replicas": %d`, 1+r.IntN(replicas)))
			}
		}
		for _, f := range []string{
			pick("", `"gpu_model": "H100"`, `"gpu_model": "H200"`, `"gpu_model": ["H200", "H100"]`),
			pick("", `"topology": "any"`, `"topology": "site"`, `"topology": "hall"`),
			pick("", "", "", "", "", "", `"jurisdictions": ["EU"]`, `"jurisdictions": ["US"]`, `"jurisdictions": ["DE"]`, `"jurisdictions": ["FR"]`,
				`"jurisdictions": ["EU", "FR"]`, `"jurisdictions": ["FR", "US"]`, `"jurisdictions": ["DE", "NL"]`),
			pick("", "", "", `"data_class": "eu-only"`, `"data_class": "de-only"`),
		} {
			if f != "" {
				fields = append(fields, f)
			}
		}
		line := "{" + strings.Join(fields, ", ") + "}"
		j, problems := loadForCore(t, fac, line)
		started, why := coreStarts(fac, j)
		switch {
		case len(problems) > 0 && started:
			t.Errorf("%s on %v: refused %q, but the core starts it", line, fac.Nodes, problems)
		case len(problems) == 0 && !started:
			t.Errorf("%s on %v: accepted, but the core does not start it: %s", line, fac.Nodes, why)
		case len(problems) > 0:
			refused++
			if strings.Contains(problems[0], "replicas: needs") {
				size++
			}
		default:
			accepted++
		}
	}
	// both sides are exercised, the size checks often
	if refused < 500 || accepted < 500 || size < 300 {
		t.Errorf("%d refused (%d at replicas or min_replicas), %d accepted; want both drawn often", refused, size, accepted)
	}
	t.Logf("%d refused (%d at replicas or min_replicas), %d accepted", refused, size, accepted)
}
