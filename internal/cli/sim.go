package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/report"
	"github.com/carnot-dc/carnot/internal/sim"
	"github.com/carnot-dc/carnot/internal/trace"
)

type simOpts struct {
	facility, workload, philly, vcNodes, out string
	scale                                    float64
	grid                                     []string
	log                                      bool
	m                                        simModel
	notes                                    []string // said on stderr before the run, and in summary.json
	leftOut                                  int      // jobs of the input left out before the run
}

func newSimCmd() *cobra.Command {
	var o simOpts
	cmd := &cobra.Command{
		Use:   "sim [--facility FILE --workload FILE | --philly CSV --vc-nodes CSV] [--out DIR]",
		Short: "Replay a workload on a virtual facility with the production scheduling core",
		Long: `Runs the digital twin: a discrete-event replay in which every scheduling
decision is made by the production core (sched.Schedule, checked by
plan.Verify). Writes DIR/summary.json (jobs, JCT, waits and bounded
slowdown, utilization and queue over time, preemptions, deadline misses,
fair-share shares and Jain's index, peak power per site, hall and capped
rack against its envelope or cap, energy, cost and carbon per site and tenant and in
total), DIR/jobs.csv
(one row per job), DIR/report.html (the same as tables and charts, one
self-contained page that opens offline) and with --log DIR/events.log.
Every field is defined in docs/twin.md. On a terminal, or for more than
50,000 jobs, a progress line on stderr follows the virtual clock.

Without --facility/--workload or --philly it replays the bundled default:
four days of the Microsoft Philly trace, moved into 2023, on a 320-GPU
facility in France under France's 2023 hourly grid prices and carbon.
DIR defaults to ./carnot-sim.

Each site is priced with the series of its grid_zone: --grid ZONE=CSV,
else the one built into carnot (FR and DE, 2023), as carnot plan does.
A --grid series must be for a zone a site draws from.

--philly replays the Microsoft Philly trace the way the Helios study did:
each virtual cluster its own set of 8-GPU nodes sized by --vc-nodes, FIFO,
no preemption or backfill; --scale shrinks or grows the clusters.

--policy overrides policy settings (as in a facility's policy: section);
--arrival-rate, --window and --sample shape any workload; --checkpoint,
--cap-exponent, --spread-slowdown, --utilization, --mtbf, --mttr,
--gpu-mtbf and --gpu-mttr set the progress, power and failure model
(docs/twin.md, "The model").`,
		Example: `  carnot sim
  carnot sim --facility examples/small.yaml --workload examples/jobs-small-generated.jsonl --out out/
  carnot sim --philly internal/trace/testdata/philly-sample.csv --vc-nodes ../shared/data/traces/philly-vc-nodes.csv --scale 0.5 --out out/
  carnot sim --policy order=shortest-first --mtbf 30d --arrival-rate 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSim(cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.facility, "facility", "", "facility description (YAML)")
	f.StringVar(&o.workload, "workload", "", "job specs (YAML, JSON or JSONL)")
	f.StringVar(&o.philly, "philly", "", "Philly per-job trace CSV (instead of --facility/--workload)")
	f.StringVar(&o.vcNodes, "vc-nodes", "", "Philly VC sizes CSV (vc,node num), with --philly")
	f.Float64Var(&o.scale, "scale", 1, "with --philly: scale every VC's node count (above 0, at most 1000)")
	f.StringArrayVar(&o.grid, "grid", nil, "grid series as ZONE=CSV, in place of the zone's built-in one; repeatable")
	f.StringVar(&o.out, "out", defaultSimOut, "output directory")
	f.BoolVar(&o.log, "log", false, "also write the event log to DIR/events.log")
	o.m.register(f)
	return cmd
}

// runSim runs the twin into o.out, which holds this run's files only:
// an earlier run's would read as this one's (its events.log beside a
// run without --log, or its summary.json after a run that failed).
func runSim(cmd *cobra.Command, o *simOpts) error {
	if err := outDir("--out", o.out); err != nil {
		return err
	}
	if err := inputsNotOutputs(o.out, simOutputs, o.inputs()); err != nil {
		return err
	}
	return ownOutputs(o.out, simOutputs, func() error { return simulate(cmd, o) })
}

// flagFile is an input file and the flag that names it.
type flagFile struct{ flag, path string }

// inputs are the files the run reads.
func (o *simOpts) inputs() []flagFile {
	in := []flagFile{{"--facility", o.facility}, {"--workload", o.workload}, {"--philly", o.philly}, {"--vc-nodes", o.vcNodes}}
	for _, g := range o.grid {
		if _, path, ok := strings.Cut(g, "="); ok {
			in = append(in, flagFile{"--grid", path})
		}
	}
	return in
}

// inputsNotOutputs refuses an input that is one of the files names in
// dir, which the run removes before it starts: the input would be gone
// unread (a trace named jobs.csv replayed into its own directory).
func inputsNotOutputs(dir string, names []string, inputs []flagFile) error {
	for _, in := range inputs {
		if in.path == "" {
			continue
		}
		fi, err := os.Stat(in.path)
		if err != nil {
			continue // its reader says what is wrong with it
		}
		for _, name := range names {
			// a link there is removed, not what it points to
			if out, err := os.Lstat(filepath.Join(dir, name)); err == nil && os.SameFile(fi, out) {
				return usageError{fmt.Errorf("%s %s is the %s that the run writes into --out %s, and would be replaced: give another --out, or move or rename the file",
					in.flag, in.path, name, dir)}
			}
		}
	}
	return nil
}

// simulate checks the flags, loads the inputs, runs the twin and writes
// its outputs into o.out.
func simulate(cmd *cobra.Command, o *simOpts) error {
	// a flag that only applies with another would be ignored without it
	for _, d := range []struct {
		flag, needs string
		has         bool
	}{
		{"scale", "philly", o.philly != ""},
		{"mttr", "mtbf", o.m.mtbf != ""},
		{"gpu-mttr", "gpu-mtbf", o.m.gpuMTBF != ""},
		{"full-pass-every", "pass-depth", o.m.depth > 0},
	} {
		if cmd.Flags().Changed(d.flag) && !d.has {
			return usageError{fmt.Errorf("--%s applies with --%s only", d.flag, d.needs)}
		}
	}
	fac, jobs, series, err := simInputs(o)
	if err != nil {
		return err
	}
	for _, n := range o.notes {
		fmt.Fprintln(cmd.ErrOrStderr(), "note: "+n)
	}
	if len(jobs) == 0 { // a window or sample that keeps none says so itself
		return usageError{noJobs(o)}
	}
	cfg, err := o.m.config(fac)
	if err != nil {
		return err
	}
	cfg.Jobs, cfg.Grid = jobs, series
	cfg.MaxPasses = o.m.passLimit(len(jobs))
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	var logw *bufio.Writer
	if o.log {
		lf, err := os.Create(filepath.Join(o.out, simLog))
		if err != nil {
			return err
		}
		defer lf.Close()
		logw = bufio.NewWriter(lf)
		defer logw.Flush()
	}
	errw := cmd.ErrOrStderr()
	progress := len(jobs) > 50_000
	if f, ok := errw.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			progress = true
		}
	}
	if progress {
		cfg.OnProgress = func(now model.Time, finished, total int) {
			fmt.Fprintf(errw, "\rsim: virtual time %s, %d of %d jobs finished ", now, finished, total)
		}
	}
	var res *sim.Result
	if logw != nil {
		res, err = sim.Run(cfg, logw)
	} else {
		res, err = sim.Run(cfg, nil)
	}
	if progress {
		fmt.Fprintln(errw)
	}
	if err != nil {
		return err
	}
	sum := sim.Summarize(fac, res)
	sum.LeftOut, sum.Notes = o.leftOut, o.notes
	if err := writeFile(filepath.Join(o.out, simSummary), func(w *bufio.Writer) error { return sim.WriteSummary(w, sum) }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(o.out, simJobs), func(w *bufio.Writer) error { return sim.WriteJobsCSV(w, res) }); err != nil {
		return err
	}
	html := filepath.Join(o.out, simReport)
	rin := report.Input{Facility: fac, Result: res, Summary: sum, Grid: series}
	if err := writeFile(html, func(w *bufio.Writer) error { return report.Write(w, rin) }); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintln(out, simLine(sum))
	ids := make([]string, 0, len(sum.Sites))
	for id := range sum.Sites {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var unpriced [][2]string // the sites no series covers at all, and why
	for _, id := range ids {
		s := sum.Sites[id]
		fmt.Fprintf(out, "site %s: %.3f MWh IT, %.3f MWh facility, %.2f EUR, %.4f tCO2e; peak %.1f of %.1f kW\n",
			id, s.All.ITMWh, s.All.FacilityMWh, s.All.CostEUR, s.All.CarbonT, s.MaxITkW, s.EnvelopeKW)
		switch u := s.All.UnpricedMWh; {
		case u > 0 && u >= s.All.FacilityMWh:
			unpriced = append(unpriced, [2]string{id, zoneOf(fac, id)})
		case u > 0:
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: site %s drew %.3f MWh (%.1f %% of its facility energy) in hours its grid series does not hold: its cost and carbon leave them out\n",
				id, u, 100*u/s.All.FacilityMWh)
		}
	}
	noteUnpriced(cmd.ErrOrStderr(), unpriced, series)
	fmt.Fprintf(out, "wrote %s and %s\n", filepath.Join(o.out, simSummary), filepath.Join(o.out, simJobs))
	fmt.Fprintf(out, "report: %s\n", html)
	return nil
}

// simLine is the line carnot sim prints of a run's summary.
func simLine(sum sim.Summary) string {
	return fmt.Sprintf("%s: %d finished, %d never started; mean JCT %.0f s, mean wait %.0f s; %s; %s",
		plural(sum.Jobs, "job"), sum.Finished, sum.NeverStarted, sum.JCT.Mean, sum.Wait.Mean,
		plural(sum.Preemptions, "preemption"), passes(sum.Passes))
}

// passes is n scheduling passes, or 1 scheduling pass.
func passes(n int) string {
	if n == 1 {
		return "1 scheduling pass"
	}
	return fmt.Sprintf("%d scheduling passes", n)
}

// noteUnpriced says which sites no grid series covers during the run,
// one note per grid zone (a --philly run's sites, one per VC, have none
// and share one), sites in the order given with their zone.
func noteUnpriced(w io.Writer, sites [][2]string, series []model.GridSeries) {
	var zones []string
	byZone := map[string][]string{}
	for _, s := range sites {
		if _, ok := byZone[s[1]]; !ok {
			zones = append(zones, s[1])
		}
		byZone[s[1]] = append(byZone[s[1]], s[0])
	}
	for _, zone := range zones {
		ids := byZone[zone]
		if len(ids) == 1 {
			fmt.Fprintf(w, "note: no grid series covers site %s during the run: %s\n", ids[0], unpricedWhy(zone, series, false))
			continue
		}
		fmt.Fprintf(w, "note: no grid series covers the %d sites %s during the run: %s\n", len(ids), strings.Join(ids, ", "), unpricedWhy(zone, series, true))
	}
}

// zoneOf is site id's grid zone.
func zoneOf(fac *model.Facility, id string) string {
	for _, s := range fac.Sites {
		if s.ID == id {
			return s.GridZone
		}
	}
	return ""
}

// unpricedWhy says why no hour of a run is priced at sites of grid zone
// zone ("": none), one site or many, and what would price it.
func unpricedWhy(zone string, series []model.GridSeries, many bool) string {
	its, has := "its", "it has"
	if many {
		its, has = "their", "they have"
	}
	if zone == "" {
		return fmt.Sprintf("%s no grid_zone, so %s cost and carbon are 0", has, its)
	}
	for _, gs := range series {
		if gs.Zone == zone && len(gs.Hours) > 0 {
			return fmt.Sprintf("the series of zone %s covers %s to %s, so %s cost and carbon are 0 (--grid %s=CSV for the run's hours)",
				zone, gs.Hours[0].Start, gs.Hours[len(gs.Hours)-1].Start.Add(model.Hour), its, zone)
		}
	}
	return fmt.Sprintf("zone %s has no built-in series, so %s cost and carbon are 0 (--grid %s=CSV)", zone, its, zone)
}

// The files `carnot sim` writes into DIR, and all of them (simOutputs).
const (
	simSummary = "summary.json"
	simJobs    = "jobs.csv"
	simReport  = "report.html"
	simLog     = "events.log" // with --log
)

var simOutputs = []string{simSummary, simJobs, simReport, simLog}

// outDir refuses an empty or blank output directory, which would fail
// later as "mkdir : no such file or directory".
func outDir(flag, dir string) error {
	if strings.TrimSpace(dir) == "" {
		return usageError{fmt.Errorf("%s %q: want a directory, e.g. %s out", flag, dir, flag)}
	}
	return nil
}

// ownOutputs runs fn, which writes the files names into dir, so that
// dir holds none of them from before fn runs, whatever fn checks first,
// and none after fn fails, whatever it wrote.
func ownOutputs(dir string, names []string, fn func() error) error {
	if err := removeOutputs(dir, names); err != nil {
		return err
	}
	err := fn()
	if err != nil {
		if rerr := removeOutputs(dir, names); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// removeOutputs removes the files names from dir, those that are there.
// A dir that is not there, or not a directory, holds none.
func removeOutputs(dir string, names []string) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil // MkdirAll says what is wrong with it, if anything
	}
	for _, name := range names {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func simInput(o *simOpts) (*model.Facility, []*model.Job, error) {
	switch {
	case o.philly != "":
		if !(o.scale > 0) || o.scale > 1000 {
			return nil, nil, usageError{fmt.Errorf("--scale %g: want a factor above 0 and at most 1000 (e.g. 0.5 halves every VC)", o.scale)}
		}
		if o.facility != "" || o.workload != "" {
			return nil, nil, usageError{fmt.Errorf("--philly replaces --facility and --workload; give one or the other")}
		}
		if o.vcNodes == "" {
			return nil, nil, usageError{fmt.Errorf("--philly needs --vc-nodes (the VC sizes, e.g. philly-vc-nodes.csv)")}
		}
		vcs, err := trace.LoadVCNodes(o.vcNodes)
		if err != nil {
			return nil, nil, fmt.Errorf("--vc-nodes: %w", err)
		}
		if n := trace.HeliosNodes(vcs, o.scale); n > facility.MaxNodes {
			return nil, nil, usageError{fmt.Errorf("--scale %g: the VCs of %s would have %d nodes, more than %d, the most a facility holds; use a smaller --scale", o.scale, o.vcNodes, n, facility.MaxNodes)}
		}
		fac := trace.HeliosFacility(vcs, o.scale, trace.FacilityOptions{})
		// the reader shapes the trace (--window, --sample by row number,
		// --arrival-rate) before the jobs the VCs cannot run are left
		// out, so that which rows the sample keeps depends on neither
		// --scale nor --vc-nodes
		opt, err := o.m.options()
		if err != nil {
			return nil, nil, err
		}
		jobs, err := trace.LoadPhilly(o.philly, opt)
		if err != nil {
			return nil, nil, fmt.Errorf("--philly: %w", err)
		}
		if len(jobs) == 0 {
			if all, err := trace.LoadPhilly(o.philly, trace.Options{}); err == nil && len(all) > 0 {
				return nil, nil, o.m.noneKept(all)
			}
		}
		kept := len(jobs)
		jobs, notes := trace.Replayable(fac, jobs, o.vcNodes)
		o.notes, o.leftOut = append(o.notes, notes...), kept-len(jobs)
		return fac, jobs, nil
	case o.facility == "" || o.workload == "":
		return nil, nil, usageError{fmt.Errorf("give --facility and --workload, or --philly and --vc-nodes")}
	}
	fac, err := facility.LoadFile(o.facility)
	if err != nil {
		return nil, nil, err
	}
	jobs, err := jobspec.LoadFileToReplay(o.workload, fac)
	if err != nil {
		return nil, nil, jobspec.Brief(err)
	}
	return fac, jobs, nil
}

// noJobs says why a run has no job to replay: its input holds none, or
// every one was left out (the notes say why).
func noJobs(o *simOpts) error {
	flag, path := "--workload", o.workload
	if o.philly != "" {
		flag, path = "--philly", o.philly
	}
	if o.leftOut > 0 {
		return fmt.Errorf("%s %s: every job was left out (see the note above); nothing to replay", flag, path)
	}
	return fmt.Errorf("%s %s holds no jobs; nothing to replay", flag, path)
}

func writeFile(path string, fn func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := fn(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
