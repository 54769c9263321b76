package workload

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
)

// randomFacility is a small facility file drawn from r: one to four
// sites in FR, DE or US, each of one to six nodes of 2, 4 or 8 H100s or
// H200s (sites often share a model), one to four tenants narrowed to a
// jurisdiction or not, quotas on or off and, on some, data classes.
func randomFacility(t *testing.T, r *rand.Rand) *model.Facility {
	t.Helper()
	var b strings.Builder
	b.WriteString("name: random\nsites:\n")
	type site struct{ country, model string }
	held := map[string]map[string]int{} // GPUs by jurisdiction tag and model
	tags := map[string][]string{"FR": {"EU", "FR"}, "DE": {"EU", "DE"}, "US": {"US"}}
	for s := range 1 + r.IntN(4) {
		st := site{[]string{"FR", "DE", "US"}[r.IntN(3)], []string{"H100", "H200"}[r.IntN(2)]}
		fmt.Fprintf(&b, "  - id: s%d\n    country: %s\n    operator: Example\n    power_envelope_kw: 1000\n    pue: 1.3\n", s, st.country)
		fmt.Fprintf(&b, "    halls:\n      - id: s%d-h1\n        racks:\n          - id: s%d-r1\n            nodes:\n", s, s)
		for n := range 1 + r.IntN(6) {
			gpus := []int{2, 4, 8, 8}[r.IntN(4)]
			fmt.Fprintf(&b, "              - {names: s%d-n%d, gpu_model: %s, gpus: %d, cpus: %d, memory_gib: %d, base_watts: 1000, leaf: s%d-l1, spine: s%d-s1}\n",
				s, n, st.model, gpus, 14*gpus, 256*gpus, s, s)
			for _, tag := range append(tags[st.country], "") {
				if held[tag] == nil {
					held[tag] = map[string]int{}
				}
				held[tag][st.model] += gpus
			}
		}
	}
	b.WriteString("cohorts:\n  - name: all\ntenants:\n")
	for tn := range 1 + r.IntN(4) {
		tag := []string{"", "", "EU", "US", "FR"}[r.IntN(5)]
		if held[tag] == nil {
			tag = "" // no site carries it: the facility file would be refused
		}
		fmt.Fprintf(&b, "  - name: t%d\n    cohort: all\n", tn)
		if tag != "" {
			fmt.Fprintf(&b, "    jurisdictions: [%s]\n", tag)
		}
		if len(held[tag]) == 0 {
			continue // no GPU it may use: no quota, no jobs
		}
		b.WriteString("    quota:\n")
		for _, m := range sortedKeys(held[tag]) {
			fmt.Fprintf(&b, "      %s: {nominal: %d}\n", m, r.IntN(held[tag][m]+1))
		}
	}
	fmt.Fprintf(&b, "policy:\n  quotas: %v\n", r.IntN(2) == 0)
	if r.IntN(2) == 0 {
		b.WriteString("data_classes:\n")
		for _, tag := range []string{"EU", "FR", "US"} {
			if held[tag] != nil {
				fmt.Fprintf(&b, "  - {name: %s, jurisdictions: [%s]}\n", strings.ToLower(tag), tag)
			}
		}
	}
	fac, err := facility.Load("random.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return fac
}

// TestGeneratedLoadBack: on small random facilities, for a few seeds,
// every job `carnot workload generate` makes (GenerateRunnable) is one
// the job-file loader accepts, as `carnot sim` reads it, and starts
// alone on the empty facility.
func TestGeneratedLoadBack(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gangs := 0
	for trial := range 12 {
		fac := randomFacility(t, r)
		for _, seed := range []int64{1, 2} {
			jobs := GenerateRunnable(fac, 300, seed, start)
			for _, j := range jobs {
				if j.Replicas > 1 && j.Kind == model.KindJob {
					gangs++
				}
			}
			if err := loadBack(t, fac, jobs); err != nil {
				t.Errorf("trial %d, seed %d: %v", trial, seed, jobspec.Brief(err))
			}
			if bad := unstartable(fac, jobs); len(bad) > 0 {
				t.Errorf("trial %d, seed %d: %d jobs do not start alone on the facility, e.g. %s", trial, seed, len(bad), bad[0])
			}
		}
	}
	if gangs == 0 {
		t.Error("no gang: the case tests nothing")
	}
}

// TestGenerateLoadBack: on the same small random facilities, every job
// of Generate (the benchmarks' workload, that of a scenario set's
// workload.generate and of `carnot workload generate --bench`), its
// classes dropped where the facility defines none as that command does,
// is one the job-file loader accepts, and starts alone on the empty
// facility but where its tenant's quota forbids (Generate does not size
// jobs by quotas). Generate drew a job's data class and jurisdiction
// apart from its GPU model and its tenant's sites: on these facilities
// a job could get a class whose sites had none of its model, or none
// its tenant may use, or a narrowing that left a gang no site holding
// it: the loader found 3,290 problems in the 72,000 jobs below (300 for
// each of 80 facilities and three seeds) until 2026-12-02.
func TestGenerateLoadBack(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	refused := 0
	for trial := range 80 {
		fac := randomFacility(t, r)
		for _, seed := range []int64{1, 2, 3} {
			jobs := DropUndefinedClasses(fac, Generate(fac, 300, seed, start))
			if err := loadBack(t, fac, jobs); err != nil {
				var list jobspec.ErrorList
				if errors.As(err, &list) {
					refused += len(list)
				}
				if refused == len(list) { // the first facility's problems, not every one's
					t.Errorf("trial %d, seed %d: %v", trial, seed, jobspec.Brief(err))
				}
			}
			if trial%8 != 0 {
				continue // the core is slower than the loader
			}
			if bad := unstartable(fac, jobs, model.ReasonCapacity, model.ReasonTopology, model.ReasonSovereignty, model.ReasonInvalid); len(bad) > 0 {
				t.Errorf("trial %d, seed %d: %d jobs do not start alone on the facility, e.g. %s", trial, seed, len(bad), bad[0])
			}
		}
	}
	if refused > 0 {
		t.Errorf("the loader refused %d jobs in all", refused)
	}
}
