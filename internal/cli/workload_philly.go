package cli

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/trace"
)

// phillyOpts are the flags of `carnot workload philly`.
type phillyOpts struct {
	facility, trace, mapFile string
	maps                     []string
	prefix, defTenant        string
	class                    string
	gpuModels                []string
	cpusPerGPU, memPerGPU    int
	shift, start, window     string
	out                      string
}

// defaultPhillyShift is --shift's default: the bundled default's
// TraceShift, from 2017 into 2023, where carnot's grid series are.
const defaultPhillyShift = "2191d"

func newWorkloadPhillyCmd() *cobra.Command {
	var o phillyOpts
	cmd := &cobra.Command{
		Use:   "philly --facility FILE --trace CSV [--map VC=TENANT]... [--map-file CSV] [--default-tenant T] [-o FILE]",
		Short: "Convert the Microsoft Philly trace into a job file for your facility",
		Long: `Philly reads the Microsoft Philly per-job trace (CSV: timestamp, duration,
num_gpus, gpu_time, cluster) and writes its jobs as JSON Lines for the
tenants of your facility, ready for 'carnot sim --facility FILE
--workload OUT' and 'carnot plan' (docs/twin.md, "Replaying a trace on
your facility"). Row n of the trace is job philly-n: one gang of
ceil(num_gpus/8) replicas that runs exactly its recorded duration.

Each virtual cluster (VC, the trace's cluster column) goes to a tenant:
its --map VC=TENANT or its row in --map-file (a CSV with the header
vc,tenant; '#' starts a comment), else tenant PREFIX+VC with
--tenant-prefix when the facility has it, else --default-tenant. A VC
left without a tenant is an error listing those VCs with their job
counts; so is a tenant the facility does not have, named at its
file:line or flag. Every job is in priority class --class, preemptible
when the facility's class is (the trace's jobs are training runs, which
checkpoint).

Jobs the facility could never start for their tenant, even empty (more
GPUs of one model they accept than the sites the tenant may use hold,
or than one of them holds, as a gang stays in one site on one model;
replicas the nodes with those GPUs cannot hold with their CPUs and
memory; or more GPUs than its quota could ever give it), are left out,
and a note on stderr says which, per tenant.

Submit times move by --shift (default 2191d: September 2017 into
September 2023, where carnot's built-in grid series are, keeping every
date, weekday and time of day; 0 keeps the trace's times), or so that
--start is the start of --window (without one, the first submission).
--window keeps the jobs submitted in FROM,TO of the trace's own times.

The data: Jeon et al., "Analysis of Large-Scale Multi-Tenant GPU
Clusters for DNN Training Workloads", USENIX ATC 2019 (Microsoft
Philly), licensed CC-BY-4.0; cite it where you use the results.`,
		Example: `  carnot workload philly --facility examples/small.yaml \
      --trace internal/trace/testdata/philly-sample.csv --map-file examples/philly-vcmap-small.csv \
      --map b436b2=interns --default-tenant interns --class low -o jobs.jsonl
  carnot sim --facility examples/small.yaml --workload jobs.jsonl --out out/
  carnot workload philly --facility my-dc.yaml --trace philly.csv --map-file vcmap.csv \
      --window 2017-10-01,2017-10-08 --start 2026-03-02T00:00:00Z -o week.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPhilly(cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.facility, "facility", "", "facility description (YAML) whose tenants run the jobs")
	f.StringVar(&o.trace, "trace", "", "Philly per-job trace (CSV: timestamp,duration,num_gpus,gpu_time,cluster)")
	f.StringArrayVar(&o.maps, "map", nil, "send the jobs of VC to TENANT, as VC=TENANT; repeatable, each VC once")
	f.StringVar(&o.mapFile, "map-file", "", "VC to tenant map: a CSV with the header vc,tenant, one row per VC")
	f.StringVar(&o.prefix, "tenant-prefix", "", "send a VC not mapped otherwise to tenant PREFIX+VC, when the facility has it")
	f.StringVar(&o.defTenant, "default-tenant", "", "send every VC not mapped otherwise to this tenant")
	f.StringVar(&o.class, "class", trace.DefaultPriorityClass, "priority class of every job; the job is preemptible when the class is")
	f.StringArrayVar(&o.gpuModels, "gpu-model", nil, "GPU model the jobs accept; repeatable (default: any model of the facility)")
	f.IntVar(&o.cpusPerGPU, "cpus-per-gpu", trace.DefaultCPUsPerGPU, "CPUs a replica asks for per GPU")
	f.IntVar(&o.memPerGPU, "memory-gib-per-gpu", trace.DefaultMemGiBPerGPU, "GiB of memory a replica asks for per GPU")
	f.StringVar(&o.shift, "shift", defaultPhillyShift, "move every submit time forward by this much (e.g. 2191d; 0 keeps the trace's times)")
	f.StringVar(&o.start, "start", "", "move the submit times so that the start of --window, or the first submission, is at this RFC 3339 time (instead of --shift)")
	f.StringVar(&o.window, "window", "", "keep the jobs submitted in FROM,TO (dates or RFC 3339 times, UTC, in the trace's own times; either side may be empty)")
	f.StringVarP(&o.out, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}

// runPhilly converts the trace and writes the job file.
func runPhilly(cmd *cobra.Command, o *phillyOpts) error {
	switch {
	case o.facility == "" || o.trace == "":
		return usageError{errors.New("give --facility FILE and --trace CSV")}
	case cmd.Flags().Changed("shift") && o.start != "":
		return usageError{errors.New("give --shift or --start, not both")}
	case o.cpusPerGPU < 1 || o.memPerGPU < 1:
		return usageError{fmt.Errorf("--cpus-per-gpu %d and --memory-gib-per-gpu %d: want at least 1 each", o.cpusPerGPU, o.memPerGPU)}
	}
	if o.out != "" {
		for _, in := range []flagFile{{"--facility", o.facility}, {"--trace", o.trace}, {"--map-file", o.mapFile}} {
			if in.path != "" && sameFile(in.path, o.out) {
				return usageError{fmt.Errorf("%s %s is also -o: writing the jobs would replace it; give another -o", in.flag, in.path)}
			}
		}
	}
	m := trace.Mapping{Prefix: o.prefix, Default: o.defTenant, DefaultFrom: "--default-tenant " + o.defTenant}
	if o.mapFile != "" {
		entries, err := trace.LoadVCMap(o.mapFile)
		if err != nil {
			return fmt.Errorf("--map-file:\n%w", err)
		}
		m.Entries = entries
	}
	for _, s := range o.maps {
		e, err := trace.ParseMapFlag("--map", s)
		if err != nil {
			return usageError{err}
		}
		m.Entries = append(m.Entries, e)
	}
	fac, err := facility.LoadFile(o.facility)
	if err != nil {
		return fmt.Errorf("facility %s:\n%w", o.facility, err)
	}
	opt := trace.Options{PriorityClass: o.class, CPUsPerGPU: o.cpusPerGPU, MemGiBPerGPU: o.memPerGPU}
	if err := phillyModels(fac, o.gpuModels); err != nil {
		return err
	}
	if len(o.gpuModels) > 0 {
		opt.GPUModels = slices.Compact(slices.Sorted(slices.Values(o.gpuModels)))
	}
	if o.window != "" {
		sm := simModel{window: o.window, rate: 1, sample: 1}
		w, err := sm.options()
		if err != nil {
			return err
		}
		opt.Window = w.Window
	}
	jobs, err := trace.LoadPhilly(o.trace, opt)
	if err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	if len(jobs) == 0 {
		if o.window != "" {
			return usageError{fmt.Errorf("--window %s keeps none of the jobs of %s", o.window, o.trace)}
		}
		return fmt.Errorf("--trace %s holds no jobs", o.trace)
	}
	read := len(jobs)
	vcs := map[string]bool{}
	for _, j := range jobs {
		vcs[j.Tenant] = true
	}
	jobs, notes, err := trace.OntoFacility(fac, jobs, m)
	if err != nil {
		var un *trace.UnmappedError
		if errors.As(err, &un) {
			return fmt.Errorf("%w\n(--map VC=TENANT, a row VC,TENANT in --map-file, --tenant-prefix, or --default-tenant TENANT for all the rest)", err)
		}
		return err
	}
	errw := cmd.ErrOrStderr()
	for _, n := range notes {
		fmt.Fprintln(errw, "note: "+n)
	}
	if len(jobs) == 0 {
		return fmt.Errorf("every job of %s was left out (see the notes above): facility %s can run none of them", o.trace, fac.Name)
	}
	shift, err := o.shiftBy(jobs, opt.Window)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		j.SubmitTime = j.SubmitTime.Add(shift)
	}
	if first := jobs[0].SubmitTime; first <= 0 {
		return usageError{fmt.Errorf("the first job would be submitted at %s, not after 1970-01-01T00:00:00Z; give a later --start or a larger --shift", first)}
	}
	if last := lastTime(jobs); last > jobspec.MaxTime {
		return usageError{fmt.Errorf("the last job would be submitted at %s, past %s, the latest a job file holds; give an earlier --start or a smaller --shift", last, jobspec.MaxTime)}
	}
	if err := loadsBack(jobs, fac, o.facility); err != nil {
		return err
	}
	if err := writeJobs(cmd.OutOrStdout(), o.out, jobs); err != nil {
		return err
	}
	to := "stdout"
	if o.out != "" {
		to = o.out
	}
	tenants := map[string]bool{}
	for _, j := range jobs {
		tenants[j.Tenant] = true
	}
	fmt.Fprintf(errw, "wrote %d of %d jobs (%s onto %s of %s), submitted %s to %s, to %s\n",
		len(jobs), read, plural(len(vcs), "VC"), plural(len(tenants), "tenant"), fac.Name, jobs[0].SubmitTime, jobs[len(jobs)-1].SubmitTime, to)
	return nil
}

// phillyModels checks that every --gpu-model is a model some node of
// fac has.
func phillyModels(fac *model.Facility, models []string) error {
	have := map[string]bool{}
	for _, n := range fac.Nodes {
		if n.GPUs > 0 {
			have[n.GPUModel] = true
		}
	}
	for _, m := range models {
		if !have[m] {
			names := slices.Sorted(maps.Keys(have))
			return usageError{fmt.Errorf("--gpu-model %s: no node of facility %s has it (its nodes have %s)", m, fac.Name, strings.Join(names, ", "))}
		}
	}
	return nil
}

// maxShift is the longest --shift, forward or back.
const maxShift = 10000 * 365 * model.Day

// shiftBy is how far the submit times move: --shift, or from the start
// of the window (else the first submission, of jobs sorted by time) to
// --start.
func (o *phillyOpts) shiftBy(jobs []*model.Job, w trace.Window) (model.Duration, error) {
	if o.start == "" {
		s := strings.TrimSpace(o.shift)
		neg := strings.HasPrefix(s, "-")
		d, err := model.ParseDuration(strings.TrimPrefix(s, "-"), maxShift)
		if err != nil { // in its own words: ParseDuration's have no sign
			return 0, usageError{fmt.Errorf("--shift %q: want a duration of at most 10000 years (%dd), forward or back (-7d), e.g. 2191d", o.shift, maxShift/model.Day)}
		}
		if neg {
			d = -d
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, o.start)
	if err != nil {
		return 0, usageError{fmt.Errorf("--start must be an RFC 3339 time such as 2023-09-24T00:00:00Z (got %q)", o.start)}
	}
	from := jobs[0].SubmitTime
	if w.From > 0 {
		from = w.From
	}
	return model.Duration(t.Unix() - int64(from)), nil
}

// loadsBack checks that `carnot sim --facility F --workload` will read
// the jobs as written: what jobspec refuses must not be written. A
// failure here is a bug of the conversion.
func loadsBack(jobs []*model.Job, fac *model.Facility, facPath string) error {
	var b bytes.Buffer
	if err := jobspec.Write(&b, jobs); err != nil {
		return err
	}
	if _, err := jobspec.Load("converted.jsonl", b.Bytes(), fac); err != nil {
		return fmt.Errorf("the converted jobs do not validate against %s (a bug of carnot workload philly; please report it):\n%w", facPath, err)
	}
	return nil
}

// sameFile reports whether paths a and b name one existing file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
