package trace

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/google/go-cmp/cmp"
)

const phillyHeader = "timestamp,duration,num_gpus,gpu_time,cluster"

// phillyCSV is a Philly file of the given data rows.
func phillyCSV(rows ...string) string {
	return phillyHeader + "\n" + strings.Join(rows, "\n") + "\n"
}

// at is the Time of a UTC wall-clock instant.
func at(y int, mo time.Month, d, h, mi, s int) model.Time {
	return model.TimeOf(time.Date(y, mo, d, h, mi, s, 0, time.UTC))
}

// gangJob is a job as ReadPhilly builds it with default options.
func gangJob(id, tenant string, submit model.Time, replicas, gpus int, run model.Duration) *model.Job {
	return &model.Job{
		ID: id, Kind: model.KindJob, Tenant: tenant, PriorityClass: "normal",
		Replicas: replicas, MinReplicas: replicas, GPUsPerReplica: gpus,
		CPUsPerReplica: 4 * gpus, MemGiBPerReplica: 32 * gpus,
		RuntimeLimit: run, Topology: model.Topology{Level: model.LevelSite}, SubmitTime: submit,
	}
}

func read(t *testing.T, data string, opt Options) []*model.Job {
	t.Helper()
	jobs, err := ReadPhilly("t.csv", strings.NewReader(data), opt)
	if err != nil {
		t.Fatalf("ReadPhilly: %v", err)
	}
	return jobs
}

func TestReadPhillyRows(t *testing.T) {
	data := phillyCSV(
		"2017-10-01 12:00:00,3600.0,1,3600.0,6214e9",
		"2017-10-01 11:00:00,90.5,16,1448.0,b436b2", // gang of 2 × 8, run time rounded up
		"2017-10-01 12:00:00,10,12,120,6214e9",      // 12 GPUs: 2 × 6
		"2017-09-30 23:59:59,1,8,8.05,ed69ec",       // gpu_time within 1 %
		"2017-10-02 00:00:00,100,24,2400,x.y_z-1",   // 3 × 8
	)
	want := []*model.Job{
		gangJob("philly-4", "ed69ec", at(2017, 9, 30, 23, 59, 59), 1, 8, 1),
		gangJob("philly-2", "b436b2", at(2017, 10, 1, 11, 0, 0), 2, 8, 91),
		gangJob("philly-1", "6214e9", at(2017, 10, 1, 12, 0, 0), 1, 1, 3600),
		gangJob("philly-3", "6214e9", at(2017, 10, 1, 12, 0, 0), 2, 6, 10),
		gangJob("philly-5", "x.y_z-1", at(2017, 10, 2, 0, 0, 0), 3, 8, 100),
	}
	if diff := cmp.Diff(want, read(t, data, Options{})); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	if got := want[2].SubmitTime; got != 1506859200 {
		t.Errorf("2017-10-01 12:00:00 read as %d, want 1506859200 (UTC)", got)
	}
}

func TestReadPhillyOptionsApplied(t *testing.T) {
	models := []string{"PHILLY-GPU"}
	opt := Options{TenantPrefix: "vc-", PriorityClass: "low", CPUsPerGPU: 3, MemGiBPerGPU: 10, GPUModels: models}
	jobs := read(t, phillyCSV("2017-10-01 12:00:00,60,16,960,6214e9"), opt)
	want := gangJob("philly-1", "vc-6214e9", at(2017, 10, 1, 12, 0, 0), 2, 8, 60)
	want.PriorityClass, want.CPUsPerReplica, want.MemGiBPerReplica, want.GPUModels = "low", 24, 80, models
	if diff := cmp.Diff([]*model.Job{want}, jobs); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
}

func TestReadPhillyHeaderOrderAndExtras(t *testing.T) {
	data := "\ufeffcluster, gpu_time ,note,num_gpus,duration,timestamp\r\nabc,20,hi,2,10,2017-10-01 00:00:00\r\n"
	want := []*model.Job{gangJob("philly-1", "abc", at(2017, 10, 1, 0, 0, 0), 1, 2, 10)}
	if diff := cmp.Diff(want, read(t, data, Options{})); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
}

// TestReadPhillyQuotedHeaderAfterBOM: a file saved "UTF-8 with BOM" by a
// tool that quotes every value (R's write.csv, pandas with QUOTE_ALL)
// starts with the mark and then a quote. The mark was stripped from the
// header names only after the CSV parser had read it as part of the
// first value, so the quote behind it was a bare quote and the file was
// refused ("t.csv:1:4: a '"' inside an unquoted value"). Both readers
// now drop the mark before parsing.
func TestReadPhillyQuotedHeaderAfterBOM(t *testing.T) {
	data := "\ufeff\"timestamp\",\"duration\",\"num_gpus\",\"gpu_time\",\"cluster\"\r\n\"2017-10-01 00:00:00\",10,1,10,\"abc\"\r\n"
	want := []*model.Job{gangJob("philly-1", "abc", at(2017, 10, 1, 0, 0, 0), 1, 1, 10)}
	if diff := cmp.Diff(want, read(t, data, Options{})); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	got, err := ReadVCNodes("vc.csv", strings.NewReader("\ufeff\"vc\",\"node num\"\n\"abc\",4\n"))
	if err != nil || got["abc"] != 4 {
		t.Errorf("ReadVCNodes = %v, %v; want abc: 4", got, err)
	}
}

func TestReadPhillyErrors(t *testing.T) {
	const ok = "2017-10-01 12:00:00,3600.0,1,3600.0,6214e9"
	tests := []struct {
		name, data string
		want       []string
	}{
		{"empty", "", []string{"t.csv:1: empty file; the first line must be the header timestamp,duration,num_gpus,gpu_time,cluster"}},
		{"missing column", "timestamp,duration,num_gpus,cluster\n" + ok + "\n", []string{
			"t.csv:1: gpu_time: missing column; the first line must be the header timestamp,duration,num_gpus,gpu_time,cluster"}},
		// blank lines before the header: the header's own line, not line 1
		{"missing column after blank lines", "\n\ntimestamp,duration,num_gpus,cluster\n" + ok + "\n", []string{
			"t.csv:3: gpu_time: missing column; the first line must be the header timestamp,duration,num_gpus,gpu_time,cluster"}},
		{"duplicate column", phillyHeader + ",duration\n", []string{
			"t.csv:1:46: duration: column named twice in the header; keep one"}},
		{"field count", phillyCSV(ok, "2017-10-01 12:00:00,1,1,1"), []string{
			"t.csv:3:1: row has 4 fields, the header 5; every row needs one value per header column"}},
		{"bare quote", phillyCSV(`2017-10-01 12:00:00,1"0,1,10,a`, ok), []string{
			`t.csv:2:22: a '"' inside an unquoted value; quote the whole value and double the '"' inside it`}},
		{"open quote", phillyCSV(ok, `2017-10-01 12:00:00,"10,1,10,a`), []string{
			`t.csv:3:32: a quoted value is not closed properly; end it with '"' right before the ',' or the line end, and double any '"' inside it`}},
		// a quote left open takes the rows after it into its value: the
		// error was reported where the reader gave up, the file's last
		// line, not where the quote opened
		{"open quote over rows", phillyCSV(`2017-10-01 12:00:00,"10,1,10,a`, ok, ok), []string{
			`t.csv:2: a quoted value that opens on this line is not closed (the reader looked for its end up to line 4); end it with '"' right before the ',' or the line end, and double any '"' inside it`}},
		{"timestamp", phillyCSV("2017-10-01T12:00:00Z,1,1,1,a"), []string{
			`t.csv:2:1: timestamp: "2017-10-01T12:00:00Z" is not a time like 2017-09-04 10:30:41 (YYYY-MM-DD HH:MM:SS)`}},
		// time.Parse takes a fraction after the seconds even when the
		// layout has none; it was cut off, the job read 0.7 s early
		{"timestamp fraction", phillyCSV("2017-10-01 12:00:00.7,1,1,1,a"), []string{
			`t.csv:2:1: timestamp: "2017-10-01 12:00:00.7" is not a time like 2017-09-04 10:30:41 (YYYY-MM-DD HH:MM:SS)`}},
		{"timestamp 1970", phillyCSV("1970-01-01 00:00:00,1,1,1,a"), []string{
			`t.csv:2:1: timestamp: "1970-01-01 00:00:00" is not after 1970-01-01 00:00:00; use the submit time of the job`}},
		{"duration zero", phillyCSV("2017-10-01 12:00:00,0,1,0,a"), []string{
			`t.csv:2:21: duration: "0" is not a run time in seconds above 0 and at most 31622400 (e.g. 3600.0)`}},
		{"duration NaN", phillyCSV("2017-10-01 12:00:00,NaN,1,1,a"), []string{
			`t.csv:2:21: duration: "NaN" is not a run time in seconds above 0 and at most 31622400 (e.g. 3600.0)`}},
		{"duration too long", phillyCSV("2017-10-01 12:00:00,4e7,1,4e7,a"), []string{
			`t.csv:2:21: duration: "4e7" is not a run time in seconds above 0 and at most 31622400 (e.g. 3600.0)`}},
		{"num_gpus fraction", phillyCSV("2017-10-01 12:00:00,10,1.5,15,a"), []string{
			`t.csv:2:24: num_gpus: "1.5" is not a whole number of GPUs from 1 to 65536`}},
		{"num_gpus zero", phillyCSV("2017-10-01 12:00:00,10,0,0,a"), []string{
			`t.csv:2:24: num_gpus: "0" is not a whole number of GPUs from 1 to 65536`}},
		{"num_gpus split", phillyCSV("2017-10-01 12:00:00,10,11,110,a"), []string{
			"t.csv:2:24: num_gpus: 11 GPUs cannot be split into 2 equal replicas of at most 8 GPUs (one node each); use a multiple of 8, or a count that 2 nodes share equally"}},
		{"gpu_time mismatch", phillyCSV("2017-10-01 12:00:00,100,8,808.1,a"), []string{
			"t.csv:2:27: gpu_time: 808.1 differs from duration × num_gpus = 800 by more than 1 %; fix gpu_time, duration or num_gpus"}},
		{"gpu_time text", phillyCSV("2017-10-01 12:00:00,100,8,-5,a"), []string{
			`t.csv:2:27: gpu_time: "-5" is not a number of GPU-seconds (duration × num_gpus)`}},
		{"cluster", phillyCSV("2017-10-01 12:00:00,1,1,1,-x", "2017-10-01 12:00:00,1,1,1,"), []string{
			`t.csv:2:27: cluster: "-x" is not a virtual-cluster id; use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63 characters)`,
			`t.csv:3:27: cluster: "" is not a virtual-cluster id; use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63 characters)`}},
		{"every field", phillyCSV(ok, "yesterday,soon,many,lots,?"), []string{
			`t.csv:3:1: timestamp: "yesterday" is not a time like 2017-09-04 10:30:41 (YYYY-MM-DD HH:MM:SS)`,
			`t.csv:3:11: duration: "soon" is not a run time in seconds above 0 and at most 31622400 (e.g. 3600.0)`,
			`t.csv:3:16: num_gpus: "many" is not a whole number of GPUs from 1 to 65536`,
			`t.csv:3:21: gpu_time: "lots" is not a number of GPU-seconds (duration × num_gpus)`,
			`t.csv:3:26: cluster: "?" is not a virtual-cluster id; use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63 characters)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, err := ReadPhilly("t.csv", strings.NewReader(tt.data), Options{})
			if jobs != nil {
				t.Errorf("got %d jobs with errors, want none", len(jobs))
			}
			var list Errors
			if !errors.As(err, &list) {
				t.Fatalf("err = %v (%T), want Errors", err, err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			var one *Error
			if !errors.As(err, &one) || one.File != "t.csv" {
				t.Errorf("errors.As(*Error) = %v, want the first problem", one)
			}
		})
	}
}

func TestReadPhillyErrorCap(t *testing.T) {
	rows := make([]string, 250)
	for i := range rows {
		rows[i] = "2017-10-01 12:00:00,1,1,1,?"
	}
	_, err := ReadPhilly("t.csv", strings.NewReader(phillyCSV(rows...)), Options{})
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("err = %v, want Errors", err)
	}
	if len(list) != MaxErrors+1 {
		t.Fatalf("got %d errors, want %d and a note", len(list), MaxErrors+1)
	}
	if got, want := list[MaxErrors-1].Line, MaxErrors+1; got != want {
		t.Errorf("last kept error on line %d, want %d", got, want)
	}
	if got, want := list[MaxErrors].Error(), "t.csv: 50 more problems not shown; fix the ones above first"; got != want {
		t.Errorf("note = %q, want %q", got, want)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		r.n++
		return copy(p, phillyHeader+"\n2017-10-01 12:00:00,1,1,1,a\n"), nil
	}
	return 0, errors.New("disk on fire")
}

func TestReadPhillyIOError(t *testing.T) {
	_, err := ReadPhilly("t.csv", &failingReader{}, Options{})
	if err == nil || !strings.Contains(err.Error(), "t.csv: cannot read: disk on fire") {
		t.Errorf("err = %v, want the IO error with the file name", err)
	}
}

func TestOptionsInvalid(t *testing.T) {
	for _, opt := range []Options{
		{Scale: -1}, {Scale: 1e-9}, {Window: Window{From: 10, To: 10}}, {Window: Window{From: -1}},
		{Sample: Sample{Fraction: 1.5}}, {Sample: Sample{Fraction: -0.1}}, {CPUsPerGPU: -1},
	} {
		_, err := ReadPhilly("t.csv", strings.NewReader(phillyCSV("2017-10-01 12:00:00,1,1,1,a")), opt)
		var list Errors
		if err == nil || errors.As(err, &list) || !strings.HasPrefix(err.Error(), "trace: invalid options: ") {
			t.Errorf("%+v: err = %v, want an options error", opt, err)
		}
	}
}
