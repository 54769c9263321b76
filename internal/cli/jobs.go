package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
	"github.com/carnot-dc/carnot/internal/model"
)

type jobsOpts struct {
	remote
	tenant, class, kind string
	states              []string
	all                 bool
	limit               int
}

func newJobsCmd() *cobra.Command {
	var o jobsOpts
	cmd := &cobra.Command{
		Use:   "jobs [--tenant T] [--state S,…] [--priority-class P] [--all] [--limit N] [-o table|json|yaml]",
		Short: "List the server's jobs and deployments",
		Long: `Lists jobs and deployments of a running Carnot server, oldest first: by
default those that are not finished yet (pending, running, preempting,
cancelling); --all includes succeeded, failed and cancelled ones,
--state picks states.

GPUS is replicas×GPUs per replica, AGE the time since submission, NODES
the nodes its replicas hold (those they ran on, once it ended; none
while it waits, even queued again after an attempt), and the last
column the scheduler's reason while a job waits, else its message.`,
		Example: `  carnot jobs
  carnot jobs --tenant lab-a --all
  carnot jobs --state pending -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runJobs(cmd, &o) },
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.tenant, "tenant", "", "only this tenant's jobs")
	f.StringSliceVar(&o.states, "state", nil, "only jobs in these states (comma-separated): "+strings.Join(allStates, ", "))
	f.StringVar(&o.class, "priority-class", "", "only jobs of this priority class")
	f.StringVar(&o.kind, "kind", "", "only jobs (job) or deployments (deployment)")
	f.BoolVarP(&o.all, "all", "A", false, "include finished jobs")
	f.IntVar(&o.limit, "limit", 0, "show at most N jobs (0: all)")
	_ = cmd.RegisterFlagCompletionFunc("state", cobra.FixedCompletions(allStates, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

var allStates = []string{api.StatePending, api.StateRunning, api.StatePreempting, api.StateCancelling,
	api.StateSucceeded, api.StateFailed, api.StateCancelled}

func runJobs(cmd *cobra.Command, o *jobsOpts) error {
	for _, s := range o.states {
		if !slices.Contains(allStates, s) {
			return usageError{fmt.Errorf("--state %q: want one of %s", s, strings.Join(allStates, ", "))}
		}
	}
	if o.kind != "" && o.kind != string(model.KindJob) && o.kind != string(model.KindDeployment) {
		return usageError{fmt.Errorf("--kind %q: want job or deployment", o.kind)}
	}
	if o.limit < 0 {
		return usageError{fmt.Errorf("--limit %d: want 0 or more", o.limit)}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	lo := client.ListOptions{Tenant: o.tenant, States: o.states, PriorityClass: o.class, Kind: o.kind}
	if len(lo.States) == 0 && !o.all {
		lo.States = activeStates
	}
	if o.limit > 0 {
		lo.Limit = min(o.limit, 1000)
	}
	jobs := []api.Job{} // -o json: [] when none, as the API answers, not null
	for {
		l, err := c.ListJobs(ctxOf(cmd), lo)
		if err != nil {
			return err
		}
		jobs = append(jobs, l.Jobs...)
		if o.limit > 0 && len(jobs) >= o.limit {
			jobs = jobs[:o.limit]
			break
		}
		if l.Next == "" || l.Next == lo.After {
			break
		}
		lo.After = l.Next
	}
	if o.output != outTable {
		return printObject(cmd.OutOrStdout(), o.output, api.JobList{Jobs: jobs})
	}
	if len(jobs) == 0 {
		// a header alone reads as a fault; say what was listed, on
		// stderr, as kubectl does ("No resources found")
		what := "no active jobs (--all lists finished ones too)"
		if len(o.states) > 0 || o.all {
			what = "no jobs"
		}
		if o.tenant != "" || len(o.states) > 0 || o.class != "" || o.kind != "" {
			what += " match the filters"
		}
		fmt.Fprintln(cmd.ErrOrStderr(), what)
		return nil
	}
	return jobsTable(cmd.OutOrStdout(), time.Now(), jobs)
}

// jobsTable writes one line per job.
func jobsTable(w io.Writer, now time.Time, jobs []api.Job) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tTENANT\tSTATE\tGPUS\tAGE\tNODES\tREASON/MESSAGE")
	for i := range jobs {
		j := &jobs[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Tenant, j.State, gpusOf(j),
			age(now, j.SubmitTime), trunc(dash(strings.Join(nodesOf(j), ",")), 30), trunc(dash(reasonOf(j)), 70))
	}
	return tw.Flush()
}

// shape is the part of a job's spec that the listings show.
type shape struct {
	Replicas int `json:"replicas"`
	GPUs     int `json:"gpus"`
}

// gpusOf is "replicas×gpus" from the job's spec.
func gpusOf(j *api.Job) string {
	s := shape{Replicas: 1}
	if json.Unmarshal(j.Spec, &s) != nil {
		return "?"
	}
	return strconv.Itoa(s.Replicas) + "×" + strconv.Itoa(s.GPUs)
}

// nodesOf is the distinct nodes of the job's replicas, in replica order,
// less those of a deployment's replaced replicas (released: they stay in
// its record, on nodes it has left), and none for a pending job: one
// queued again (preempted, retried) keeps its last attempt's replicas,
// on nodes it no longer holds.
func nodesOf(j *api.Job) []string {
	if j.State == api.StatePending {
		return nil
	}
	var out []string
	for _, r := range j.Replicas {
		if r.Node != "" && !r.Released && !slices.Contains(out, r.Node) {
			out = append(out, r.Node)
		}
	}
	return out
}

// reasonOf is the scheduler's reason while the job waits, else its
// message.
func reasonOf(j *api.Job) string {
	if j.State == api.StatePending && j.Reason != nil && j.Reason.Message != "" {
		return j.Reason.Message
	}
	return j.Message
}
