package cli

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
	"github.com/carnot-dc/carnot/internal/state"
)

type scheduleOpts struct {
	facility string
	workload []string
	state    string
	grid     []string
	now      string
	output   string
}

func newScheduleCmd() *cobra.Command {
	var o scheduleOpts
	cmd := &cobra.Command{
		Use:   "schedule --facility FILE --workload FILE [--state FILE] [--grid ZONE=CSV] [-o table|json]",
		Short: "Run one scheduling pass and print the plan with a reason for every pending job",
		Long: `Loads a facility and a workload, runs the scheduling core once and prints
the plan: starts (node and GPU indices, power caps), preemptions,
deferrals, reservations and, for every job still pending, why.

Without --state every job of the workload is pending on an idle, clean
facility. --state gives the cluster's current state (docs/state.md):
which jobs of the workload already run and where, drained or down nodes,
dirty or claimed GPUs, tenants' past usage and recent preemptions.

The pass runs at --now, else at the state file's now:, else at the latest
submit time in the workload (so that every job has arrived); without any
of these it runs at the wall clock. --grid gives a zone's hourly price
and carbon series (the reference CSV format), used to defer flexible
jobs. The plan is checked with plan.Verify before it is printed.`,
		Example: `  carnot schedule --facility examples/small.yaml --workload examples/jobs-small.yaml
  carnot schedule --facility examples/small.yaml --workload examples/jobs-small-busy.yaml \
      --state examples/state-small.yaml
  carnot schedule --facility examples/paris.yaml --workload jobs.jsonl -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSchedule(cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.facility, "facility", "", "facility description (YAML)")
	f.StringArrayVar(&o.workload, "workload", nil, "job specs (YAML, JSON or JSONL); repeatable")
	f.StringVar(&o.state, "state", "", "the cluster's current state (YAML, see docs/state.md); default: idle")
	f.StringArrayVar(&o.grid, "grid", nil, "grid series as ZONE=CSV, e.g. FR=fr-2023-hourly.csv; repeatable")
	f.StringVar(&o.now, "now", "", "time of the pass (RFC 3339); default: the state's now:, else the latest submit time, else the wall clock")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
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
	snap := &model.Snapshot{Facility: fac}
	for _, w := range o.workload {
		jobs, err := jobspec.LoadFile(w, fac)
		if err != nil {
			return jobspec.Brief(err)
		}
		snap.Pending = append(snap.Pending, jobs...)
	}
	all := snap.Pending
	var st *state.State
	if o.state != "" {
		if st, err = state.LoadFile(o.state, fac, all); err != nil {
			return err
		}
		st.Apply(snap)
	}
	if snap.Grid, err = loadGrids(o.grid); err != nil {
		return err
	}
	now, err := passTime(o.now, st, all)
	if err != nil {
		return err
	}
	if st != nil && o.now != "" {
		if err := st.CheckAt(now); err != nil {
			return err
		}
	}
	gridWarnings(cmd.ErrOrStderr(), fac, snap.Grid, now)
	shown := *snap // the table names held jobs too
	held := holdDependents(snap)
	p := sched.Schedule(snap, now)
	if err := plan.Verify(snap, &p); err != nil {
		return fmt.Errorf("the core returned a plan that fails verification (a bug; please report it): %w", err)
	}
	p.Pending = append(p.Pending, held...)
	w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	if o.output == "json" {
		err = plan.WriteJSON(w, &p)
	} else {
		err = plan.WriteText(w, &shown, &p)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// holdDependents takes out of snap's pending jobs those that depend on
// a job still pending or running in it (depends_on), as the live server
// holds them, and returns their entries: a dependency absent from the
// snapshot has succeeded, so a job that needs it to fail (afternotok)
// is held too, saying the live control plane would cancel it.
func holdDependents(snap *model.Snapshot) []model.Pending {
	state := map[string]string{}
	for _, j := range snap.Pending {
		state[j.ID] = "pending"
	}
	for _, a := range snap.Running {
		if a.Job != nil {
			state[a.Job.ID] = "running"
		}
	}
	var held []model.Pending
	kept := snap.Pending[:0:0]
	for _, j := range snap.Pending {
		var waits []model.Dependency
		broken := ""
		for _, d := range j.DependsOn {
			if _, ok := state[d.Job]; ok {
				waits = append(waits, d)
			} else if !d.Type.Met(true) && broken == "" {
				broken = d.Job
			}
		}
		switch {
		case broken != "":
			held = append(held, model.Pending{Job: j.ID, Code: model.ReasonDependency,
				Message: "dependency: " + broken + " is neither pending nor running, so taken to have succeeded; " +
					"this job runs only if it fails or is cancelled (afternotok), and the live control plane would cancel it"})
		case len(waits) == 0:
			kept = append(kept, j)
		default:
			held = append(held, model.Pending{Job: j.ID, Code: model.ReasonDependency,
				Message: model.DependencyWait(waits, func(id string) string { return state[id] })})
		}
	}
	snap.Pending = kept
	return held
}

// passTime parses --now, defaulting to the state file's now:, then to
// the latest submit time, then to the wall clock (the CLI, not the core,
// reads it). A state without now: is checked against the time chosen.
func passTime(s string, st *state.State, jobs []*model.Job) (model.Time, error) {
	if s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return 0, fmt.Errorf("--now %q: want an RFC 3339 time like 2026-01-05T09:00:00Z", s)
		}
		return model.TimeOf(t), nil
	}
	if st != nil && st.Now != 0 {
		return st.Now, nil
	}
	var latest model.Time
	for _, j := range jobs {
		latest = max(latest, j.SubmitTime)
	}
	if latest == 0 {
		latest = model.TimeOf(time.Now())
	}
	if st != nil {
		if err := st.CheckAt(latest); err != nil {
			return 0, fmt.Errorf("%w\n(the pass runs at %s, the latest submit time or the wall clock; give now: in the state file or --now)", err, latest)
		}
	}
	return latest, nil
}

// gridWarnings says when a --grid series cannot matter: no site uses its
// zone, or it does not cover now. Neither is an error: the plan is still
// right, it only defers nothing for that zone.
func gridWarnings(w io.Writer, fac *model.Facility, series []model.GridSeries, now model.Time) {
	for _, gs := range series {
		used := false
		for _, s := range fac.Sites {
			used = used || s.GridZone == gs.Zone
		}
		if !used {
			fmt.Fprintf(w, "warning: --grid %s: no site of the facility has grid_zone %s\n", gs.Zone, gs.Zone)
			continue
		}
		if len(gs.Hours) == 0 {
			fmt.Fprintf(w, "warning: --grid %s: the series is empty; no job will be deferred\n", gs.Zone)
			continue
		}
		first, last := gs.Hours[0].Start, gs.Hours[len(gs.Hours)-1].Start
		if now < first || now >= last.Add(model.Hour) {
			fmt.Fprintf(w, "warning: --grid %s: the series covers %s..%s, not now (%s); no job will be deferred\n", gs.Zone, first, last, now)
		}
	}
}
