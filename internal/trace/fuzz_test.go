package trace

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// FuzzReadPhilly checks that any input yields either jobs that satisfy
// the reader's guarantees or an Errors list within bounds, never a panic
// or a hang.
func FuzzReadPhilly(f *testing.F) {
	for _, s := range []string{
		"",
		phillyHeader,
		phillyCSV("2017-10-01 12:00:00,3600.0,1,3600.0,6214e9", "2017-10-01 11:00:00,90.5,16,1448.0,b436b2"),
		phillyCSV("2017-10-01 12:00:00,10,12,120,a", "2017-10-01 12:00:00,10,11,110,a"),
		phillyCSV("yesterday,soon,many,lots,?", `"2017-10-01 12:00:00","1","1","1","a"`),
		phillyCSV(`2017-10-01 12:00:00,"10,1,10,a`, `x,1"0,1,10,a`, "a,b"),
		phillyCSV("2017-10-01 12:00:00,NaN,1,NaN,a", "2017-10-01 12:00:00,Inf,1,+Inf,a", "9999-12-31 23:59:59,1e300,65536,1e305,z"),
		"\ufeffcluster,gpu_time,num_gpus,duration,timestamp\r\na,1,1,1,2017-10-01 00:00:00\r\n",
		"timestamp,timestamp,duration\n",
		"\ufeff\"timestamp\",\"duration\",\"num_gpus\",\"gpu_time\",\"cluster\"\n\"2017-10-01 00:00:00\",1,1,1,\"a\"\n",
	} {
		f.Add(s)
	}
	if b, err := os.ReadFile("testdata/philly-sample.csv"); err == nil {
		f.Add(string(b[:min(len(b), 2000)]))
	}
	f.Fuzz(func(t *testing.T, data string) {
		opt := Options{Scale: 3, Sample: Sample{Fraction: 0.7, Seed: 1}}
		jobs, err := ReadPhilly("f.csv", strings.NewReader(data), opt)
		if err != nil {
			if jobs != nil {
				t.Fatalf("jobs and an error")
			}
			var list Errors
			if !errors.As(err, &list) || len(list) == 0 || len(list) > MaxErrors+1 {
				t.Fatalf("err = %v; want Errors of 1 to %d problems", err, MaxErrors+1)
			}
			for _, e := range list {
				if e.File != "f.csv" || e.Line < 0 || e.Column < 0 || e.Msg == "" {
					t.Fatalf("bad error %#v", e)
				}
			}
			return
		}
		for i, j := range jobs {
			if j.Replicas < 1 || j.GPUsPerReplica < 1 || j.GPUsPerReplica > GPUsPerNode ||
				j.RuntimeLimit < 1 || j.RuntimeLimit > MaxRunTime || j.SubmitTime <= 0 || j.Tenant == "" {
				t.Fatalf("job %+v out of range", j)
			}
			if i > 0 && jobs[i-1].SubmitTime > j.SubmitTime {
				t.Fatalf("unsorted: %s after %s", j.ID, jobs[i-1].ID)
			}
		}
	})
}

// FuzzReadVCNodes checks the VC sizes reader the same way.
func FuzzReadVCNodes(f *testing.F) {
	for _, s := range []string{"", "vc,node num\n", "vc,node num\r\n6214e9,64\r\n", "vc,node num\na,1\na,x\n\"b,2\n", "node num,vc\n3,a\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		m, err := ReadVCNodes("v.csv", strings.NewReader(data))
		if err != nil {
			var list Errors
			if m != nil || !errors.As(err, &list) || len(list) == 0 || len(list) > MaxErrors+1 {
				t.Fatalf("got %v, %v", m, err)
			}
			return
		}
		if len(m) == 0 {
			t.Fatal("no VCs and no error")
		}
		for vc, n := range m {
			if !validIdent(vc) || n < 1 || n > MaxVCNodes {
				t.Fatalf("VC %q: %d nodes", vc, n)
			}
		}
		f := HeliosFacility(m, 0.25, FacilityOptions{})
		if len(f.Sites) != len(m) || len(f.Nodes) < len(m) {
			t.Fatalf("%d sites, %d nodes for %d VCs", len(f.Sites), len(f.Nodes), len(m))
		}
		if n := HeliosNodes(m, 0.25); n != len(f.Nodes) {
			t.Fatalf("HeliosNodes = %d, the facility has %d", n, len(f.Nodes))
		}
	})
}

// FuzzShape checks Shape's promises on any jobs and options: the jobs
// kept are those of the window and the sample (a larger fraction keeps a
// superset), sorted by (SubmitTime, ID), in the order of their arrivals,
// with times above 0 and windows that keep their length; and the same
// input gives the same output.
func FuzzShape(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 0, 7, 7, 7}, 2.0, int64(0), int64(0), 0.5, uint64(1))
	f.Add([]byte{255, 0, 255, 0, 1, 1}, 0.001, int64(1000), int64(50000), 1.0, uint64(9))
	f.Add([]byte{9, 9, 9, 9, 9, 9, 9, 9, 9}, 1e6, int64(0), int64(1<<40), 0.01, uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, scale float64, from, to int64, frac float64, seed uint64) {
		mk := func() []*model.Job {
			var jobs []*model.Job
			for i := 0; i+2 < len(data) && len(jobs) < 64; i += 3 {
				j := &model.Job{ID: fmt.Sprintf("j%02d", len(jobs)), SubmitTime: 1 + model.Time(data[i])*977 + model.Time(data[i+1])}
				if k := data[i+2]; k%3 != 0 {
					j.EarliestStart = j.SubmitTime + model.Time(k)*10 - 500
					if j.EarliestStart <= 0 {
						j.EarliestStart = 1
					}
					j.Deadline = j.EarliestStart + model.Time(k)*100
				}
				jobs = append(jobs, j)
			}
			return jobs
		}
		in := mk()
		o := Options{Scale: scale, Window: Window{From: model.Time(from), To: model.Time(to)}, Sample: Sample{Fraction: frac, Seed: seed}}
		out, err := Shape(in, o)
		if err != nil {
			if _, cerr := o.check(); cerr == nil {
				t.Fatalf("Shape failed on options check accepts: %v", err)
			}
			return
		}
		orig := map[string]*model.Job{}
		for _, j := range mk() {
			orig[j.ID] = j
		}
		for i, j := range out {
			o0 := orig[j.ID]
			if o0 == nil || !o.Window.contains(o0.SubmitTime) {
				t.Fatalf("%s kept outside the window [%d, %d)", j.ID, from, to)
			}
			if j.SubmitTime <= 0 || j.EarliestStart < 0 || j.Deadline < 0 || (o0.EarliestStart > 0) != (j.EarliestStart > 0) {
				t.Fatalf("%s times %d %d %d from %d %d %d", j.ID, j.SubmitTime, j.EarliestStart, j.Deadline, o0.SubmitTime, o0.EarliestStart, o0.Deadline)
			}
			if o0.EarliestStart > 0 && o0.EarliestStart >= o0.SubmitTime && j.Deadline-j.EarliestStart != o0.Deadline-o0.EarliestStart {
				t.Fatalf("%s window %d..%d became %d..%d", j.ID, o0.EarliestStart, o0.Deadline, j.EarliestStart, j.Deadline)
			}
			if i > 0 {
				a, b := out[i-1], j
				if a.SubmitTime > b.SubmitTime || a.SubmitTime == b.SubmitTime && a.ID > b.ID {
					t.Fatalf("unsorted: %s@%d before %s@%d", a.ID, a.SubmitTime, b.ID, b.SubmitTime)
				}
				// rounding to the second can make two arrivals one, which
				// then sort by ID
				if a.SubmitTime < b.SubmitTime && orig[a.ID].SubmitTime > orig[b.ID].SubmitTime {
					t.Fatalf("arrivals reordered: %s (was %d) before %s (was %d)", a.ID, orig[a.ID].SubmitTime, b.ID, orig[b.ID].SubmitTime)
				}
			}
		}
		again, _ := Shape(mk(), o)
		if len(again) != len(out) {
			t.Fatalf("same input, %d then %d jobs", len(out), len(again))
		}
		for i := range out {
			if a, b := again[i], out[i]; a.ID != b.ID || a.SubmitTime != b.SubmitTime || a.EarliestStart != b.EarliestStart || a.Deadline != b.Deadline {
				t.Fatalf("same input, job %d differs: %+v, %+v", i, *out[i], *again[i])
			}
		}
		if frac > 0 && frac < 1 {
			o.Sample.Fraction = min(1, frac*2)
			more, _ := Shape(mk(), o)
			kept := map[string]bool{}
			for _, j := range more {
				kept[j.ID] = true
			}
			for _, j := range out {
				if !kept[j.ID] {
					t.Fatalf("fraction %g kept %s, fraction %g did not", frac, j.ID, o.Sample.Fraction)
				}
			}
		}
	})
}
