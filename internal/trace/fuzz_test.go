package trace

import (
	"errors"
	"os"
	"strings"
	"testing"
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
	})
}
