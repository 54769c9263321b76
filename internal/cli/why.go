package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

func newWhyCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "why JOB [-o table|json|yaml]",
		Short: "Say why a job is in its state: the scheduler's reason and estimated start",
		Long: `Asks a running Carnot server why a job is where it is. For a pending job
that is the scheduling core's reason from the last pass (quota, capacity,
power, topology, jurisdiction, a deferral to cheaper or cleaner hours…)
and, where the core can tell, when it expects the job to start; with the
jurisdictions the job may run under and the sites it may run on (those
its tenant's, its own and its data class's tags all allow).

For a pending job that asks for GPUs it also counts the GPUs it could use
(its models on those sites), how many are free, and what holds the rest:
your tenant's jobs by name, with when each is expected to end (its start
plus its runtime limit), and the other tenants' jobs only as figures —
how many, how many GPUs, when the first is expected to end.`,
		Example: `  carnot why train-1
  # train-1 is pending: capacity: needs 2×8 H100; 0 usable free on eligible nodes [capacity]
  # …
  # GPUs it may use: 64 H100 on par1, 8 free
  #   your jobs hold 16 (train-3: 8, ends in 2h; eval-1: 8, no runtime limit); 6 jobs of other tenants hold 40, the first expected to end in 1h10m`,
		Args:              jobArgs(1, 1),
		ValidArgsFunction: r.completeJobs(true, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			w, err := c.Why(ctxOf(cmd), args[0])
			if err != nil {
				return err
			}
			if r.output != outTable {
				return printObject(cmd.OutOrStdout(), r.output, w)
			}
			return writeWhy(cmd.OutOrStdout(), time.Now(), w)
		},
	}
	r.addFlags(cmd)
	return cmd
}

// writeWhy writes a Why for a person to read.
func writeWhy(w io.Writer, now time.Time, y *api.Why) error {
	var b strings.Builder
	msg := y.Message
	if y.Reason != nil && y.Reason.Message != "" {
		msg = y.Reason.Message
		if y.Reason.Code != "" {
			msg += " [" + y.Reason.Code + "]"
		}
	}
	verb := " is "
	if api.Final(y.State) {
		verb = " " // "a succeeded", "a failed", "a cancelled"
	}
	b.WriteString(y.Job + verb + y.State)
	if msg != "" {
		b.WriteString(": " + visible(msg))
	}
	b.WriteByte('\n')
	if y.Reason != nil && y.Message != "" && y.Message != y.Reason.Message {
		fmt.Fprintf(&b, "  %s\n", visible(y.Message))
	}
	est := y.EstStart
	if est == nil && y.Reason != nil {
		est = y.Reason.EstStart
	}
	// held out of the queue for its dependencies: no pass considered it,
	// and its reason is as of now
	held := y.State == api.StatePending && y.Reason != nil && y.Reason.Code == string(model.ReasonDependency)
	if held && est == nil {
		b.WriteString("estimated start: unknown (it waits for its dependencies to end as depends_on asks; the scheduler considers it only then)\n")
	} else if est != nil {
		fmt.Fprintf(&b, "estimated start: %s\n", clock(now, est))
	} else if g := y.GPUs; y.State == api.StatePending && (y.Reason == nil || y.Reason.Code == "capacity") &&
		g != nil && g.Unavailable > 0 && g.OwnGPUs == 0 && g.Others.GPUs == 0 {
		// no work ahead to estimate from: the nodes or GPUs are out of service
		fmt.Fprintf(&b, "estimated start: unknown (no job holds the GPUs it may use, but %d of them take nothing new, on nodes draining or down or down themselves: it waits for them to be back)\n", g.Unavailable)
	} else if code := reasonCode(y); y.State == api.StatePending && code == string(model.ReasonQuota) {
		// no estimate weighs quota (docs/scheduling.md, "Backfill and estimated starts")
		b.WriteString("estimated start: unknown (estimates weigh GPUs, topology and power, not quota: it starts once running work of its tenant or its cohort leaves enough of the quota)\n")
	} else if y.State == api.StatePending && (code == string(model.ReasonSovereignty) && len(y.Sites) == 0 || code == string(model.ReasonInvalid)) {
		// no site may take it, or it is not valid on the facility; a
		// sovereignty reason with sites of its own ("free H100 only in
		// DE") is a wait for room there, as any other (below)
		b.WriteString("estimated start: none (it cannot start on the facility as it is: see the reason)\n")
	} else if y.State == api.StatePending {
		// say why, or the line reads as a fault of the tool
		b.WriteString("estimated start: unknown (none found from the runtime limits of the work ahead: work without a runtime_limit counts as running for ever, and only the first backfill_depth blocked jobs are estimated, by the full passes the server runs at least every 5 s: a job queued since the last one has none yet)\n")
	}
	if y.Reason != nil && !y.Reason.Pass.IsZero() && !held {
		fmt.Fprintf(&b, "as of the scheduling pass %s\n", ago(now, y.Reason.Pass))
	}
	if len(y.Jurisdictions) > 0 {
		fmt.Fprintf(&b, "jurisdictions: %s\n", strings.Join(y.Jurisdictions, ", "))
	}
	if len(y.Sites) > 0 {
		fmt.Fprintf(&b, "sites: %s\n", strings.Join(y.Sites, ", "))
	}
	if y.GPUs != nil {
		writeWhyGPUs(&b, now, y.GPUs, y.Sites)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeWhyGPUs writes the GPUs a pending job could use and what holds
// them, in a line or two:
//
//	GPUs it may use: 64 H100 on par1, 8 free
//	  your jobs hold 16 (train-3: 8, ends in 2h; eval-1: 8, no runtime limit); 6 jobs of other tenants hold 40, the first expected to end in 1h10m
func writeWhyGPUs(b *strings.Builder, now time.Time, g *api.WhyGPUs, sites []string) {
	models, where := "GPU", "no site"
	if len(g.Models) > 0 {
		models = strings.Join(g.Models, " or ")
	}
	if len(sites) > 0 {
		where = strings.Join(sites, ", ")
	}
	if g.Total == 0 {
		fmt.Fprintf(b, "GPUs it may use: none (no %s on %s)\n", models, where)
		return
	}
	fmt.Fprintf(b, "GPUs it may use: %d %s on %s, %d free", g.Total, models, where, g.Free)
	if g.Unavailable > 0 {
		fmt.Fprintf(b, ", %d idle that take nothing new (on nodes draining or down, or down themselves)", g.Unavailable)
	}
	b.WriteByte('\n')
	var held []string
	if g.OwnGPUs > 0 {
		var jobs []string
		for _, h := range g.Own {
			jobs = append(jobs, fmt.Sprintf("%s: %d, %s", h.Job, h.GPUs, endsIn(now, h.EndsAt)))
		}
		if g.OwnMore > 0 {
			jobs = append(jobs, plural(g.OwnMore, "more job"))
		}
		verb := "your jobs hold"
		if len(g.Own)+g.OwnMore == 1 {
			verb = "your job holds"
		}
		held = append(held, fmt.Sprintf("%s %d (%s)", verb, g.OwnGPUs, strings.Join(jobs, "; ")))
	}
	if o := g.Others; o.Jobs > 0 {
		first := "without a runtime limit"
		if o.FirstEnd != nil {
			first = "expected to end " + ago(now, *o.FirstEnd)
		}
		if o.Jobs == 1 {
			held = append(held, fmt.Sprintf("1 job of another tenant holds %d, %s", o.GPUs, first))
		} else {
			if o.FirstEnd != nil {
				first = "the first " + first
			} else {
				first = "none with a runtime limit"
			}
			held = append(held, fmt.Sprintf("%d jobs of other tenants hold %d, %s", o.Jobs, o.GPUs, first))
		}
	}
	if len(held) > 0 {
		fmt.Fprintf(b, "  %s\n", strings.Join(held, "; "))
	}
}

// endsIn says when a job is expected to release its GPUs: "ends in 2h",
// "ends 1m ago" (it is being stopped), "no runtime limit".
func endsIn(now time.Time, t *time.Time) string {
	if t == nil {
		return "no runtime limit"
	}
	return "ends " + ago(now, *t)
}

// reasonCode is the code of a job's scheduling reason, "" without one.
func reasonCode(y *api.Why) string {
	if y.Reason == nil {
		return ""
	}
	return y.Reason.Code
}
