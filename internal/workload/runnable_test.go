package workload

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// unstartable returns "id: reason" for each job that does not start
// when it is alone on the empty facility at its earliest start, with
// the core's reason when the code is one of codes (any when none given).
func unstartable(fac *model.Facility, jobs []*model.Job, codes ...model.ReasonCode) []string {
	var out []string
	for _, j := range jobs {
		now := max(j.SubmitTime, j.EarliestStart)
		p := sched.Schedule(&model.Snapshot{Facility: fac, Pending: []*model.Job{j}}, now)
		if len(p.Starts) == 1 {
			continue
		}
		for _, w := range p.Pending {
			if len(codes) == 0 || slices.Contains(codes, w.Code) {
				out = append(out, j.ID+": "+w.Message)
			}
		}
	}
	return out
}

// TestGenerateRunnableQuotas: with quotas on, every job of
// GenerateRunnable could run with nothing else running, whatever its
// tenant's nominal quota, cohort and borrowing limit (the review's case:
// 186 of 1,000 jobs of examples/small.yaml, seed 7, never started), and
// it loads back against the facility.
func TestGenerateRunnableQuotas(t *testing.T) {
	small, err := facility.LoadFile("../../examples/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tiny, err := facility.LoadFile("../../examples/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i := range tiny.Tenants {
		if tn := &tiny.Tenants[i]; tn.Name == "interns" {
			tn.Quota = map[string]model.Quota{"H100": {Nominal: 4, BorrowingLimit: new(0)}}
		}
	}
	for _, tt := range []struct {
		name string
		fac  *model.Facility
		seed int64
	}{
		{"small.yaml seed 7", small, 7},
		{"a quota below one node", tiny, 7},
		{"small.yaml seed 1", small, 1},
		{"cohorts, lending limits", GenerateFacility(FacilityConfig{Nodes: 40, Sites: 2, Tenants: 6, Cohorts: 2}), 7},
		{"one site", GenerateFacility(FacilityConfig{Nodes: 20, Sites: 1, Tenants: 4, Cohorts: 2}), 3},
		{"three tenants, six nodes", GenerateFacility(FacilityConfig{Nodes: 6, Sites: 1, Tenants: 3, Cohorts: 1, Seed: 2}), 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if n := len(unstartable(tt.fac, Generate(tt.fac, 1000, tt.seed, start), model.ReasonQuota)); n == 0 {
				t.Fatal("Generate's jobs all fit the quotas: the case tests nothing")
			}
			jobs := GenerateRunnable(tt.fac, 1000, tt.seed, start)
			if len(jobs) != 1000 {
				t.Fatalf("%d jobs, want 1000", len(jobs))
			}
			if bad := unstartable(tt.fac, jobs); len(bad) > 0 {
				t.Errorf("%d jobs do not start alone on the facility, e.g. %s", len(bad), bad[0])
			}
			var buf bytes.Buffer
			if err := jobspec.Write(&buf, jobs); err != nil {
				t.Fatal(err)
			}
			if _, err := jobspec.Load("gen.jsonl", buf.Bytes(), tt.fac); err != nil {
				t.Errorf("load back: %v", err)
			}
			// and the twin replays it: no job names a data class the
			// facility does not define (none of these defines one)
			path := filepath.Join(t.TempDir(), "gen.jsonl")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := jobspec.LoadFileToReplay(path, tt.fac); err != nil {
				t.Errorf("load back to replay: %v", err)
			}
		})
	}
}

// TestGenerateRunnableOff: without quotas, on a facility without data
// classes (where every narrowing leaves a job room), GenerateRunnable
// is Generate without the classes Generate gives jobs there.
func TestGenerateRunnableOff(t *testing.T) {
	fac := GenerateFacility(FacilityConfig{Nodes: 40, Sites: 2, Tenants: 6, Cohorts: 2})
	fac.Policy.Quotas = false
	if diff := cmp.Diff(DropUndefinedClasses(fac, Generate(fac, 500, 3, start)), GenerateRunnable(fac, 500, 3, start)); diff != "" {
		t.Errorf("quotas off (-Generate +GenerateRunnable):\n%s", diff)
	}
}

// TestGenerateRunnableDataClasses: a job's data class and jurisdictions
// leave it sites with its GPU model. Both generators draw them apart
// from the model, and on examples/paris.yaml, whose data classes name FR
// and EU while H100s are only in the US and H200s only in DE, a job of
// H100s in class health, which only FR sites may hold, could run
// nowhere; such a class is dropped, then such a narrowing (Generate kept
// them until 2026-12-02, and some of its jobs never started).
func TestGenerateRunnableDataClasses(t *testing.T) {
	paris, err := facility.LoadFile("../../examples/paris.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := &model.Job{Kind: model.KindJob, GPUModels: []string{"H100"}, GPUsPerReplica: 1, Replicas: 1, DataClass: "health"}
	if jobspec.NewSizes(paris).Room(nil, nowhere) != 0 {
		t.Fatal("a job of H100s in class health has a site: the case tests nothing")
	}
	const n = 300 // a pass on paris.yaml's 3,680 nodes takes milliseconds
	// Generate does not heed quotas: only those may keep its jobs waiting
	if bad := unstartable(paris, Generate(paris, n, 7, start), model.ReasonSovereignty, model.ReasonCapacity, model.ReasonTopology); len(bad) > 0 {
		t.Errorf("Generate: %d jobs do not start alone on the facility, e.g. %s", len(bad), bad[0])
	}
	jobs := GenerateRunnable(paris, n, 7, start)
	if bad := unstartable(paris, jobs); len(bad) > 0 {
		t.Errorf("%d jobs do not start alone on the facility, e.g. %s", len(bad), bad[0])
	}
	classes, narrowed := 0, 0
	for _, j := range jobs {
		if j.DataClass != "" {
			classes++
		}
		if len(j.Jurisdictions) > 0 {
			narrowed++
		}
	}
	if classes < n/5 || narrowed < n/10 {
		t.Errorf("%d jobs with a data class, %d narrowed, of %d; want about 30 %% and 20 %%", classes, narrowed, n)
	}
}
