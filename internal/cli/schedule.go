package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/grid"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
)

type scheduleOpts struct {
	facility string
	workload []string
	grid     []string
	now      string
	output   string
	seed     int64
}

func newScheduleCmd() *cobra.Command {
	var o scheduleOpts
	cmd := &cobra.Command{
		Use:   "schedule --facility FILE --workload FILE [--grid ZONE=CSV] [-o table|json]",
		Short: "Run one scheduling pass and print the plan with a reason for every pending job",
		Long: `Loads a facility and a workload, runs the scheduling core once and prints
the plan: starts (node and GPU indices, power caps), preemptions,
deferrals, reservations and, for every job still pending, why.

Every job of the workload is pending at --now (default: the latest submit
time in the workload, so that every job has arrived). --grid gives a zone's
hourly price and carbon series (the reference CSV format), used to defer
flexible jobs. The plan is checked with plan.Verify before it is printed.`,
		Example: `  carnot schedule --facility examples/small.yaml --workload examples/jobs-small.yaml
  carnot schedule --facility examples/paris.yaml --workload jobs.jsonl -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSchedule(cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.facility, "facility", "", "facility description (YAML)")
	f.StringArrayVar(&o.workload, "workload", nil, "job specs (YAML, JSON or JSONL); repeatable")
	f.StringArrayVar(&o.grid, "grid", nil, "grid series as ZONE=CSV, e.g. FR=fr-2023-hourly.csv; repeatable")
	f.StringVar(&o.now, "now", "", "time of the pass (RFC 3339); default: latest submit time")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	f.Int64Var(&o.seed, "seed", 1, "seed for the pass")
	_ = cmd.MarkFlagRequired("facility")
	_ = cmd.MarkFlagRequired("workload")
	return cmd
}

func runSchedule(cmd *cobra.Command, o *scheduleOpts) error {
	if o.output != "table" && o.output != "json" {
		return fmt.Errorf("--output %q: want table or json", o.output)
	}
	fac, err := facility.LoadFile(o.facility)
	if err != nil {
		return err
	}
	snap := &model.Snapshot{Facility: fac, Seed: o.seed}
	for _, w := range o.workload {
		jobs, err := jobspec.LoadFile(w, fac)
		if err != nil {
			return err
		}
		snap.Pending = append(snap.Pending, jobs...)
	}
	for _, g := range o.grid {
		zone, path, ok := strings.Cut(g, "=")
		if !ok || zone == "" || path == "" {
			return fmt.Errorf("--grid %q: want ZONE=FILE, e.g. FR=fr-2023-hourly.csv", g)
		}
		gs, err := grid.LoadFile(zone, path)
		if err != nil {
			return err
		}
		snap.Grid = append(snap.Grid, gs)
	}
	now, err := passTime(o.now, snap.Pending)
	if err != nil {
		return err
	}
	p := sched.Schedule(snap, now)
	if err := plan.Verify(snap, &p); err != nil {
		return fmt.Errorf("the core returned a plan that fails verification (a bug; please report it): %w", err)
	}
	if o.output == "json" {
		return plan.WriteJSON(cmd.OutOrStdout(), &p)
	}
	return plan.WriteText(cmd.OutOrStdout(), snap, &p)
}

// passTime parses --now, defaulting to the latest submit time (or the
// wall clock when no job carries one: the CLI, not the core, reads it).
func passTime(s string, jobs []*model.Job) (model.Time, error) {
	if s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return 0, fmt.Errorf("--now %q: want an RFC 3339 time like 2026-01-05T09:00:00Z", s)
		}
		return model.TimeOf(t), nil
	}
	var latest model.Time
	for _, j := range jobs {
		latest = max(latest, j.SubmitTime)
	}
	if latest == 0 {
		latest = model.TimeOf(time.Now())
	}
	return latest, nil
}
