package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/bundled"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/scenario"
)

type planOpts struct {
	out      string
	parallel int
	grid     []string
	check    bool
}

func newPlanCmd() *cobra.Command {
	var o planOpts
	cmd := &cobra.Command{
		Use:   "plan SCENARIOS.yaml [--out DIR] [--parallel N] [--grid ZONE=CSV]...",
		Short: "Run what-if scenarios on the digital twin and compare them side by side",
		Long: `Runs every scenario of a scenario set (policy variants × facility variants ×
grid series, or an explicit list; format in docs/plan.md) on the digital twin,
in parallel, and writes DIR/plan.json (each scenario's variants, headline
metrics and each site's, hall's and capped rack's peak power against its
envelope or cap), DIR/plan.html (a self-contained page of tables and bar
charts) and each scenario's own DIR/<scenario>/summary.json and jobs.csv.

Every file the set names is read and every scenario built before any runs.
Results do not depend on --parallel. Grid zones named without a file: come
from --grid, then from the series built into carnot (FR and DE, 2023).`,
		Example: `  carnot plan examples/plan/policies.yaml --out out/policies
  carnot plan examples/plan/energy.yaml --out out/energy --parallel 4
  carnot plan examples/plan/grids.yaml --check`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runPlan(cmd, args[0], &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.out, "out", "carnot-plan", "output directory")
	f.IntVar(&o.parallel, "parallel", runtime.NumCPU(), "scenarios run at once")
	f.StringArrayVar(&o.grid, "grid", nil, "grid series as ZONE=CSV for zones named without file:; repeatable")
	f.BoolVar(&o.check, "check", false, "check the set and build every scenario, run nothing")
	return cmd
}

func runPlan(cmd *cobra.Command, path string, o *planOpts) error {
	if err := outDir("--out", o.out); err != nil {
		return err
	}
	if o.parallel < 1 {
		return usageError{fmt.Errorf("--parallel %d: want at least 1", o.parallel)}
	}
	inputs := []flagFile{{"the scenario set", path}}
	for _, g := range o.grid {
		if _, file, ok := strings.Cut(g, "="); ok {
			inputs = append(inputs, flagFile{"--grid", file})
		}
	}
	if err := inputsNotOutputs(o.out, planOutputs, inputs); err != nil {
		return err
	}
	flags, err := loadGrids(o.grid)
	if err != nil {
		return err
	}
	set, err := scenario.LoadFile(path)
	if err != nil {
		return err
	}
	asked := map[string]bool{}
	cases, err := scenario.Prepare(set, scenario.Options{Grid: gridResolver(flags, asked)})
	if err != nil {
		return err
	}
	if err := gridFlagsTaken(o.grid, asked); err != nil {
		return err
	}
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if o.check {
		fmt.Fprintf(out, "%s: ok (%d scenarios)\n", path, len(cases))
		return nil
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	if err := removeScenarioOutputs(o.out, cases); err != nil {
		return err
	}
	fmt.Fprintf(errOut, "running %d scenarios, %d at a time\n", len(cases), min(o.parallel, len(cases)))
	// Ctrl-C starts no new scenario; those running finish, and the
	// others are reported as not run.
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	outcomes, runErr := scenario.Run(ctx, cases, scenario.RunOptions{
		Parallel: o.parallel,
		Finish:   scenario.ScenarioFiles(o.out),
		Progress: func(done, total int, name string, err error) {
			status := "done"
			if err != nil {
				status = "FAILED"
			}
			fmt.Fprintf(errOut, "[%d/%d] %s %s\n", done, total, name, status)
		},
	})
	plan := scenario.NewPlan(set, outcomes)
	jsonPath, htmlPath := filepath.Join(o.out, planOutputs[0]), filepath.Join(o.out, planOutputs[1])
	if err := scenario.WriteFile(jsonPath, plan.WriteJSON); err != nil {
		return err
	}
	if err := scenario.WriteFile(htmlPath, plan.WriteHTML); err != nil {
		return err
	}
	printPlan(out, plan)
	unpricedNotes(errOut, plan)
	fmt.Fprintf(out, "wrote %s, %s and %s\n", jsonPath, htmlPath, scenarioDirs(outcomes))
	return runErr
}

// planOutputs are the files `carnot plan` writes into DIR itself.
var planOutputs = []string{"plan.json", "plan.html"}

// removeScenarioOutputs clears dir of earlier runs' scenario outputs, so
// that it holds this run's only: a folder of a scenario the set no
// longer has would read as part of this plan, and one of a scenario
// that fails or is not run this time as its result. It removes the
// files of scenario.ScenarioOutputs from the folder of every scenario the
// earlier dir/plan.json lists and of every case, and then those folders
// if they are empty: folders and files of anyone else stay.
func removeScenarioOutputs(dir string, cases []scenario.Case) error {
	names := earlierScenarios(dir)
	for _, c := range cases {
		names = append(names, c.Scenario.Name)
	}
	for _, name := range names {
		// a name from a plan.json edited by hand may not be one
		// folder below dir
		if !filepath.IsLocal(name) || filepath.Base(name) != name {
			continue
		}
		d := filepath.Join(dir, name)
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			continue
		}
		if err := removeOutputs(d, scenario.ScenarioOutputs); err != nil {
			return err
		}
		os.Remove(d) // only when empty: what else is there stays
	}
	return nil
}

// earlierScenarios lists the scenarios of dir/plan.json, none when it
// is missing or does not read as a plan.
func earlierScenarios(dir string) []string {
	data, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	if err != nil {
		return nil
	}
	var p struct {
		Scenarios []struct {
			Name string `json:"name"`
		} `json:"scenarios"`
	}
	if json.Unmarshal(data, &p) != nil {
		return nil
	}
	var names []string
	for _, s := range p.Scenarios {
		names = append(names, s.Name)
	}
	return names
}

// scenarioDirs says which scenarios have a directory of their own: those
// that ran to the end.
func scenarioDirs(outcomes []scenario.Outcome) string {
	failed := 0
	for _, o := range outcomes {
		if o.Err != nil {
			failed++
		}
	}
	switch {
	case failed == 0:
		return "one directory per scenario"
	case failed == len(outcomes):
		return "no scenario directory (every scenario failed)"
	}
	return fmt.Sprintf("one directory per scenario that ran (%d of %d failed)", failed, len(outcomes))
}

// gridResolver gives a zone's series from the --grid flags, then from
// the bundled 2023 series, and notes in asked the zones asked for.
func gridResolver(flags []model.GridSeries, asked map[string]bool) func(string) (model.GridSeries, error) {
	return func(zone string) (model.GridSeries, error) {
		asked[zone] = true
		for _, gs := range flags {
			if gs.Zone == zone {
				return gs, nil
			}
		}
		gs, err := bundled.Grid(zone)
		if err != nil {
			return gs, fmt.Errorf("no series for zone %s: give file: in the set or --grid %s=CSV (%w)", zone, zone, err)
		}
		return gs, nil
	}
}

// gridFlagsTaken checks that the set took every --grid series: one for
// a zone it does not take from --grid (a zone no grid names, or one
// whose grid has its own file:) would be dropped without a word.
func gridFlagsTaken(specs []string, asked map[string]bool) error {
	for _, g := range specs {
		zone, _, _ := strings.Cut(g, "=")
		if asked[zone] {
			continue
		}
		have := "it takes none"
		if len(asked) > 0 {
			have = "it takes zones: " + strings.Join(slices.Sorted(maps.Keys(asked)), ", ")
		}
		return usageError{fmt.Errorf("--grid %s: the set takes no series of zone %s from --grid (%s)", g, zone, have)}
	}
	return nil
}

// printPlan writes the headline of every scenario as a table.
func printPlan(w io.Writer, p scenario.Plan) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tFINISHED\tMEAN JCT h\tP95 WAIT h\tUTIL\tGPU-h\tMWh\tCOST €\ttCO2e\tPEAK/ENV\tPEAK/HALL CAP\tVIOL\tMISSED")
	var failed []string
	for _, s := range p.Scenarios {
		m := s.Metrics
		if s.Error != "" {
			fmt.Fprintf(tw, "%s\tfailed\n", s.Name)
			failed = append(failed, s.Name+": "+s.Error)
			continue
		}
		hallCap := "-" // no hall has a cap
		if m.PeakOverHallCap > 0 {
			hallCap = fmt.Sprintf("%.0f%%", 100*m.PeakOverHallCap)
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%.2f\t%.2f\t%.1f%%\t%.0f\t%.2f\t%.0f\t%.3f\t%.0f%%\t%s\t%d\t%d/%d\n", s.Name,
			m.Finished, m.Jobs, m.JCTMeanS/3600, m.WaitP95S/3600, 100*m.Utilization, m.GPUHours, m.EnergyMWh,
			m.CostEUR, m.CarbonT, 100*m.PeakOverEnvelope, hallCap, m.EnvelopeViolations+m.HallCapViolations+m.RackCapViolations,
			m.DeadlineMisses, m.DeadlineJobs)
	}
	tw.Flush()
	for _, f := range failed {
		fmt.Fprintln(w, "failed:", f)
	}
}

// unpricedNotes says on w which scenarios drew energy in hours their
// grid series does not hold (jobs that run past its end), as carnot sim
// does: their cost and carbon leave it out, so they compare low.
func unpricedNotes(w io.Writer, p scenario.Plan) {
	for _, s := range p.Scenarios {
		if m := s.Metrics; s.Error == "" && m.UnpricedMWh > 0 {
			fmt.Fprintf(w, "note: scenario %s: %.3f of its %.3f MWh drawn in hours no grid series prices (past a series' end, or at a site whose zone has none); its cost and carbon leave them out\n",
				s.Name, m.UnpricedMWh, m.EnergyMWh)
		}
	}
}
