package trace

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/google/go-cmp/cmp"
)

// submits maps each job's ID to its submit time.
func submits(jobs []*model.Job) map[string]model.Time {
	m := map[string]model.Time{}
	for _, j := range jobs {
		m[j.ID] = j.SubmitTime
	}
	return m
}

func ids(jobs []*model.Job) []string {
	var s []string
	for _, j := range jobs {
		s = append(s, j.ID)
	}
	return s
}

// threeRows arrive at t0+100, t0 and t0+25 (rows 1, 2, 3).
var threeRows = phillyCSV(
	"2017-10-01 00:01:40,5,1,5,a",
	"2017-10-01 00:00:00,5,1,5,a",
	"2017-10-01 00:00:25,5,1,5,b",
)

func TestScale(t *testing.T) {
	t0 := at(2017, 10, 1, 0, 0, 0)
	tests := []struct {
		scale float64
		want  map[string]model.Time
	}{
		{0, map[string]model.Time{"philly-1": t0 + 100, "philly-2": t0, "philly-3": t0 + 25}},
		{1, map[string]model.Time{"philly-1": t0 + 100, "philly-2": t0, "philly-3": t0 + 25}},
		{2, map[string]model.Time{"philly-1": t0 + 50, "philly-2": t0, "philly-3": t0 + 12}}, // 12.5 rounds down
		{4, map[string]model.Time{"philly-1": t0 + 25, "philly-2": t0, "philly-3": t0 + 6}},
		{0.5, map[string]model.Time{"philly-1": t0 + 200, "philly-2": t0, "philly-3": t0 + 50}},
	}
	for _, tt := range tests {
		jobs := read(t, threeRows, Options{Scale: tt.scale})
		if diff := cmp.Diff(tt.want, submits(jobs)); diff != "" {
			t.Errorf("scale %g: submits (-want +got):\n%s", tt.scale, diff)
		}
		if diff := cmp.Diff([]string{"philly-2", "philly-3", "philly-1"}, ids(jobs)); diff != "" {
			t.Errorf("scale %g: order (-want +got):\n%s", tt.scale, diff)
		}
		for _, j := range jobs {
			if j.RuntimeLimit != 5 {
				t.Errorf("scale %g: %s runs %d s, want 5 (run times are not scaled)", tt.scale, j.ID, j.RuntimeLimit)
			}
		}
	}
}

func TestWindow(t *testing.T) {
	t0 := at(2017, 10, 1, 0, 0, 0)
	tests := []struct {
		w    Window
		want []string
	}{
		{Window{}, []string{"philly-2", "philly-3", "philly-1"}},
		{Window{From: t0 + 25}, []string{"philly-3", "philly-1"}},   // From is kept
		{Window{To: t0 + 100}, []string{"philly-2", "philly-3"}},    // To is not
		{Window{From: t0 + 1, To: t0 + 100}, []string{"philly-3"}},  //
		{Window{From: t0 + 101, To: t0 + 1000}, nil},                // nothing left
		{Window{From: t0 - 1000, To: t0 + 1}, []string{"philly-2"}}, //
		{Window{From: t0 + 26, To: t0 + 101}, []string{"philly-1"}}, //
		{Window{From: t0 + 25, To: t0 + 26}, []string{"philly-3"}},  //
		{Window{From: 1, To: model.Forever}, []string{"philly-2", "philly-3", "philly-1"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ids(read(t, threeRows, Options{Window: tt.w}))); diff != "" {
			t.Errorf("window %+v (-want +got):\n%s", tt.w, diff)
		}
	}
	// Scale anchors at the first arrival inside the window.
	jobs := read(t, threeRows, Options{Window: Window{From: t0 + 25}, Scale: 5})
	if diff := cmp.Diff(map[string]model.Time{"philly-3": t0 + 25, "philly-1": t0 + 40}, submits(jobs)); diff != "" {
		t.Errorf("window then scale (-want +got):\n%s", diff)
	}
}

// manyRows is a file of n one-GPU jobs, one a second, in reverse order,
// and with every 10th row at the same instant as the one before it.
func manyRows(n int) string {
	rows := make([]string, n)
	t0 := at(2017, 9, 4, 0, 0, 0)
	for i := range rows {
		sec := n - i
		if i%10 == 9 {
			sec++
		}
		rows[i] = fmt.Sprintf("%s,60,1,60,vc%d", (t0 + model.Time(sec)).String()[:19], i%3)
	}
	return strings.ReplaceAll(phillyCSV(rows...), "T", " ")
}

func TestSample(t *testing.T) {
	const n = 10_000
	data := manyRows(n)
	full := read(t, data, Options{Scale: 3})
	if len(full) != n {
		t.Fatalf("full read: %d jobs, want %d", len(full), n)
	}
	fullAt := submits(full)
	var prev map[string]model.Time
	for _, frac := range []float64{0.1, 0.3, 0.5, 0.9} {
		opt := Options{Scale: 3, Sample: Sample{Fraction: frac, Seed: 42}}
		a, b := read(t, data, opt), read(t, data, opt)
		if diff := cmp.Diff(ids(a), ids(b)); diff != "" {
			t.Fatalf("fraction %g: two reads differ (-first +second):\n%s", frac, diff)
		}
		if got := float64(len(a)) / n; math.Abs(got-frac) > 0.02 {
			t.Errorf("fraction %g kept %.3f of the jobs", frac, got)
		}
		got := submits(a)
		for id, s := range got {
			if fullAt[id] != s {
				t.Errorf("fraction %g: %s submitted at %d, %d in the full read", frac, id, s, fullAt[id])
			}
		}
		for id := range prev {
			if _, ok := got[id]; !ok {
				t.Errorf("fraction %g dropped %s, which fraction below kept", frac, id)
			}
		}
		prev = got
	}
	other := read(t, data, Options{Scale: 3, Sample: Sample{Fraction: 0.5, Seed: 43}})
	seed42 := submits(read(t, data, Options{Scale: 3, Sample: Sample{Fraction: 0.5, Seed: 42}}))
	same := 0
	for id := range submits(other) {
		if _, ok := seed42[id]; ok {
			same++
		}
	}
	if same > len(other)*6/10 {
		t.Errorf("seeds 42 and 43 share %d of %d jobs; want independent samples", same, len(other))
	}
	if got := read(t, data, Options{Sample: Sample{Fraction: 1, Seed: 7}}); len(got) != n {
		t.Errorf("fraction 1 kept %d of %d", len(got), n)
	}
}

func TestSortedBySubmitThenID(t *testing.T) {
	jobs := read(t, manyRows(25), Options{})
	for i := 1; i < len(jobs); i++ {
		a, b := jobs[i-1], jobs[i]
		if a.SubmitTime > b.SubmitTime || a.SubmitTime == b.SubmitTime && a.ID >= b.ID {
			t.Fatalf("jobs %d, %d out of order: %s@%d, %s@%d", i-1, i, a.ID, a.SubmitTime, b.ID, b.SubmitTime)
		}
	}
	// Row 10 ties with row 9 and sorts first by ID ("philly-10" < "philly-9").
	got := strings.Join(ids(jobs), " ")
	if !strings.Contains(got, "philly-10 philly-9 ") {
		t.Errorf("order %s: want philly-10 right before philly-9", got)
	}
}

// TestShape: Shape keeps a window and a sample of any jobs and scales
// their arrivals the way the readers do.
func TestShape(t *testing.T) {
	var jobs []*model.Job
	for i := 0; i < 100; i++ {
		jobs = append(jobs, &model.Job{ID: fmt.Sprintf("j%03d", i), SubmitTime: model.Time(1000 + 60*i)})
	}
	out, err := Shape(jobs, Options{Window: Window{From: 1000 + 60*10, To: 1000 + 60*60}, Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 50 || out[0].ID != "j010" || out[0].SubmitTime != 1600 || out[1].SubmitTime != 1630 {
		t.Fatalf("window and scale: %d jobs, first %s at %d, second at %d", len(out), out[0].ID, out[0].SubmitTime, out[1].SubmitTime)
	}
	half, err := Shape(jobs, Options{Sample: Sample{Fraction: 0.5, Seed: 7}})
	if err != nil {
		t.Fatal(err)
	}
	if len(half) < 30 || len(half) > 70 {
		t.Fatalf("a half sample kept %d of 100", len(half))
	}
	if _, err := Shape(jobs, Options{Scale: -1}); err == nil {
		t.Fatal("a negative scale was accepted")
	}
}

// TestShapeMovesWindows: Scale moves a job's earliest start and deadline
// with its submit time. It moved the submit time alone, so at
// --arrival-rate 0.25 every deadline job of examples/small.yaml's
// workload was submitted after its deadline and missed it (22 of 22).
func TestShapeMovesWindows(t *testing.T) {
	for _, tc := range []struct {
		scale                      float64
		submit, earliest, deadline model.Time
	}{
		{0.5, 5000, 5600, 11000},
		{2, 2000, 2600, 8000},
		{1, 3000, 3600, 9000},
	} {
		jobs := []*model.Job{
			{ID: "a", SubmitTime: 1000},
			{ID: "b", SubmitTime: 3000, EarliestStart: 3600, Deadline: 9000},
			{ID: "c", SubmitTime: 3000, Deadline: model.Forever},
		}
		out, err := Shape(jobs, Options{Scale: tc.scale, Window: Window{To: 1 << 40}})
		if err != nil {
			t.Fatal(err)
		}
		b, c := out[1], out[2]
		if b.SubmitTime != tc.submit || b.EarliestStart != tc.earliest || b.Deadline != tc.deadline {
			t.Errorf("scale %g: b submit %d, earliest %d, deadline %d; want %d, %d, %d",
				tc.scale, b.SubmitTime, b.EarliestStart, b.Deadline, tc.submit, tc.earliest, tc.deadline)
		}
		if c.EarliestStart != 0 || c.Deadline != model.Forever {
			t.Errorf("scale %g: c earliest %d, deadline %d; an unset earliest start and a Forever deadline stay", tc.scale, c.EarliestStart, c.Deadline)
		}
	}
}

// TestShapeKeepsTimesPositive: an earliest start (or a deadline) before
// the submit time moved with it to 0 or below when Scale compressed
// arrivals, and 0 means "unset" while a negative time is no time at all.
// An earliest start that would fall to 0 or below becomes the new submit
// time (the job could start on submit before, and still can); a deadline
// that would becomes 1 (it was already past and still is).
func TestShapeKeepsTimesPositive(t *testing.T) {
	jobs := []*model.Job{
		{ID: "a", SubmitTime: 1000},
		{ID: "b", SubmitTime: 100000, EarliestStart: 10, Deadline: 50000},
	}
	out, err := Shape(jobs, Options{Scale: 100})
	if err != nil {
		t.Fatal(err)
	}
	b := out[1]
	if b.SubmitTime != 1990 || b.EarliestStart != b.SubmitTime || b.Deadline != 1 {
		t.Errorf("b submit %d, earliest %d, deadline %d; want 1990, 1990, 1", b.SubmitTime, b.EarliestStart, b.Deadline)
	}
}

// TestOrphans: a job kept whose dependency was left out goes, and so do
// the jobs that depend on it, wherever they stand in the list; a
// dependency on a job the input never had stays for the run to report.
func TestOrphans(t *testing.T) {
	job := func(id string, deps ...string) *model.Job {
		j := &model.Job{ID: id}
		for _, d := range deps {
			j.DependsOn = append(j.DependsOn, model.Dependency{Job: d})
		}
		return j
	}
	a, b, c, d, e := job("a"), job("b", "c"), job("c", "a"), job("d", "nosuch"), job("e", "d")
	all := []*model.Job{a, b, c, d, e}
	run, why := Orphans(all, []*model.Job{b, c, d, e})
	if diff := cmp.Diff([]string{"d", "e"}, ids(run)); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b on c", "c on a"}, why); diff != "" {
		t.Errorf("why (-want +got):\n%s", diff)
	}
}
