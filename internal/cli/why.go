package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
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
its tenant's, its own and its data class's tags all allow).`,
		Example:           `  carnot why train-1`,
		Args:              argsNamed("JOB", 1, 1),
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
		b.WriteString(": " + msg)
	}
	b.WriteByte('\n')
	if y.Reason != nil && y.Message != "" && y.Message != y.Reason.Message {
		fmt.Fprintf(&b, "  %s\n", y.Message)
	}
	est := y.EstStart
	if est == nil && y.Reason != nil {
		est = y.Reason.EstStart
	}
	if est != nil {
		fmt.Fprintf(&b, "estimated start: %s\n", clock(now, est))
	} else if y.State == api.StatePending {
		// say why, or the line reads as a fault of the tool
		b.WriteString("estimated start: unknown (none found from the runtime limits of the work ahead: work without a runtime_limit counts as running for ever, and only the first backfill_depth blocked jobs are estimated)\n")
	}
	if y.Reason != nil && !y.Reason.Pass.IsZero() {
		fmt.Fprintf(&b, "as of the scheduling pass %s\n", ago(now, y.Reason.Pass))
	}
	if len(y.Jurisdictions) > 0 {
		fmt.Fprintf(&b, "jurisdictions: %s\n", strings.Join(y.Jurisdictions, ", "))
	}
	if len(y.Sites) > 0 {
		fmt.Fprintf(&b, "sites: %s\n", strings.Join(y.Sites, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
