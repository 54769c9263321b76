package bundled

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/trace"
)

// Figures of the bundled data that the README and the default run state.
const (
	wantJobs  = 3734
	wantGPUs  = 320
	wantHours = 8760
)

func TestFacility(t *testing.T) {
	fac, err := Facility()
	if err != nil {
		t.Fatal(err)
	}
	if len(fac.Sites) != 1 || fac.Sites[0].Country != "FR" || fac.Sites[0].GridZone != "FR" {
		t.Errorf("sites %+v, want one site in France on grid zone FR", fac.Sites)
	}
	gpus := 0
	for _, n := range fac.Nodes {
		gpus += n.GPUs
	}
	if gpus != wantGPUs {
		t.Errorf("%d GPUs, want %d", gpus, wantGPUs)
	}
	if fac.Policy != model.DefaultPolicy() {
		t.Errorf("policy %+v, want model.DefaultPolicy()", fac.Policy)
	}
}

func TestJobs(t *testing.T) {
	fac, err := Facility()
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := Jobs(fac)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != wantJobs {
		t.Fatalf("%d jobs, want %d", len(jobs), wantJobs)
	}
	// Every VC of the slice is a tenant, and every tenant has jobs.
	used := map[string]bool{}
	for _, j := range jobs {
		used[j.Tenant] = true
		if !j.Preemptible {
			t.Fatalf("job %s is not preemptible; class normal is", j.ID)
		}
	}
	for _, tn := range fac.Tenants {
		if !used[tn.Name] {
			t.Errorf("tenant %s has no job in the slice", tn.Name)
		}
	}
	// The slice is submitted from 2023-09-24 to 2023-09-27 after the shift.
	from := model.TimeOf(time.Date(2023, 9, 24, 0, 0, 0, 0, time.UTC))
	to := model.TimeOf(time.Date(2023, 9, 28, 0, 0, 0, 0, time.UTC))
	if first, last := jobs[0].SubmitTime, jobs[len(jobs)-1].SubmitTime; first < from || last >= to {
		t.Errorf("submits from %s to %s, want within [%s, %s)", first, last, from, to)
	}
	if !slices.IsSortedFunc(jobs, func(a, b *model.Job) int { return int(a.SubmitTime - b.SubmitTime) }) {
		t.Error("jobs are not sorted by submit time")
	}
	again, err := Jobs(fac)
	if err != nil {
		t.Fatal(err)
	}
	for i := range jobs {
		if jobs[i].ID != again[i].ID || jobs[i].SubmitTime != again[i].SubmitTime {
			t.Fatalf("two reads differ at %d: %s@%s and %s@%s", i, jobs[i].ID, jobs[i].SubmitTime, again[i].ID, again[i].SubmitTime)
		}
	}
}

func TestTraceShift(t *testing.T) {
	fac, err := Facility()
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := Jobs(fac)
	if err != nil {
		t.Fatal(err)
	}
	f, err := data.Open(TraceFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := trace.ReadPhilly(TraceFile, f, trace.Options{TenantPrefix: TenantPrefix})
	if err != nil {
		t.Fatal(err)
	}
	orig := map[string]model.Time{}
	for _, j := range raw {
		orig[j.ID] = j.SubmitTime
	}
	for _, j := range jobs {
		o, ok := orig[j.ID]
		if !ok {
			t.Fatalf("job %s is not in the file", j.ID)
		}
		if got := j.SubmitTime.Sub(o); got != TraceShift {
			t.Fatalf("job %s moved by %s, want TraceShift %s", j.ID, got, TraceShift)
		}
		a, b := time.Unix(int64(o), 0).UTC(), time.Unix(int64(j.SubmitTime), 0).UTC()
		if a.Year() != 2017 || b.Year() != 2023 || a.YearDay() != b.YearDay() || a.Weekday() != b.Weekday() || a.Hour() != b.Hour() {
			t.Fatalf("job %s: %s became %s; want 2017 to 2023 on the same date, weekday and hour", j.ID, a, b)
		}
	}
}

func TestJobsUnknownTenant(t *testing.T) {
	fac, err := Facility()
	if err != nil {
		t.Fatal(err)
	}
	fac.Tenants = fac.Tenants[:1]
	_, err = Jobs(fac)
	want := "internal/bundled/" + TraceFile + " onto facility carnot-demo: 971 of 3734 jobs have no tenant: 10 VCs are not mapped, and facility carnot-demo has no tenant vc-<VC> for them: 11cb48 (635 jobs), "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want one naming the embedded file and every VC without its tenant, starting %q", err, want)
	}
	if _, err := Jobs(nil); err == nil {
		t.Error("Jobs(nil): no error")
	}
}

// TestJobsUnfit: a facility that could never start some of the jobs
// is refused, naming them, rather than replayed with jobs that never
// start (bundled.Jobs maps the VCs with trace.OntoFacility).
func TestJobsUnfit(t *testing.T) {
	fac, err := Facility()
	if err != nil {
		t.Fatal(err)
	}
	fac.Nodes = fac.Nodes[:1] // 8 GPUs
	jobs, err := Jobs(fac)
	want := "internal/bundled/" + TraceFile + " onto facility carnot-demo: "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "jobs left out: they would never start") {
		t.Errorf("got %d jobs, error %v; want an error starting %q that says which jobs never start", len(jobs), err, want)
	}
}

func TestGrid(t *testing.T) {
	if got := Zones(); !slices.Equal(got, []string{"DE", "FR"}) {
		t.Errorf("Zones() = %v, want [DE FR]", got)
	}
	jan1 := model.TimeOf(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, z := range Zones() {
		gs, err := Grid(z)
		if err != nil {
			t.Fatal(err)
		}
		if gs.Zone != z || len(gs.Hours) != wantHours || gs.Hours[0].Start != jan1 {
			t.Errorf("zone %s: %q, %d hours from %s; want %d hours from %s", z, gs.Zone, len(gs.Hours), gs.Hours[0].Start, wantHours, jan1)
		}
	}
	if _, err := Grid("XX"); err == nil || !strings.Contains(err.Error(), "DE, FR") {
		t.Errorf("Grid(XX): %v, want an error listing the bundled zones", err)
	}
}

// TestLicences checks that the data directory carries its provenance and
// licences, and that README.md's hashes pin the bundled files.
func TestLicences(t *testing.T) {
	read := func(name string) string {
		t.Helper()
		b, err := fs.ReadFile(Files(), name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for file, wants := range map[string][]string{
		"README.md": {"CC-BY-4.0", "ODbL", "Electricity Maps", "Ember", "Jeon et al.", "USENIX ATC 2019",
			"Pollux", "Helios", "TraceShift", "2,191 days", "[2017-09-24 00:00:00,"},
		"LICENSE-CC-BY-4.0.txt": {"Attribution 4.0 International"},
		"NOTICE-grid.txt":       {"Open Database License (ODbL)", "Electricity Maps", "Ember", "CC-BY-4.0"},
	} {
		text := read(file)
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("%s does not mention %q", file, w)
			}
		}
	}

	readme := read("README.md")
	hashes := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|[^|]*\\| `([0-9a-f]{64})` \\|$").FindAllStringSubmatch(readme, -1) {
		hashes[m[1]] = m[2]
	}
	total := 0
	err := fs.WalkDir(Files(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b := read(path)
		total += len(b)
		if path != "README.md" && !strings.Contains(readme, "`"+path+"`") {
			t.Errorf("README.md does not describe %s", path)
		}
		if strings.HasSuffix(path, ".csv") {
			sum := sha256.Sum256([]byte(b))
			if got := hex.EncodeToString(sum[:]); hashes[path] != got {
				t.Errorf("%s: SHA-256 %s, README.md says %q", path, got, hashes[path])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 3<<20 {
		t.Errorf("bundled data is %d bytes; keep it under 3 MiB", total)
	}
}
