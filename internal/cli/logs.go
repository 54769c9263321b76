package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/client"
)

type logsOpts struct {
	remote
	follow  bool
	replica int
	stderr  bool
	attempt int
}

func newLogsCmd() *cobra.Command {
	var o logsOpts
	cmd := &cobra.Command{
		Use:   "logs [-f] [--replica N] [--stderr] [--attempt N] JOB",
		Short: "Print a job replica's output",
		Long: `Copies a replica's standard output (or, with --stderr, its standard
error) to this terminal, as the node agent that runs it recorded it. By
default replica 0 of the current (or last) attempt; -f keeps following
the output until the replica ends.`,
		Example: `  carnot logs train-1
  carnot logs -f --replica 3 --stderr train-1`,
		Args:              argsNamed("JOB", 1, 1),
		ValidArgsFunction: o.completeJobs(false, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.replica < 0 || o.attempt < 0 {
				return usageError{fmt.Errorf("--replica and --attempt must be 0 or more")}
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			lo := client.LogOptions{Replica: o.replica, Follow: o.follow, Attempt: o.attempt}
			if o.stderr {
				lo.Stream = "stderr"
			}
			return copyLogs(cmd, c, args[0], lo)
		},
	}
	o.addServerFlag(cmd)
	f := cmd.Flags()
	f.BoolVarP(&o.follow, "follow", "f", false, "keep printing output until the replica ends")
	f.IntVar(&o.replica, "replica", 0, "the replica, from 0")
	f.BoolVar(&o.stderr, "stderr", false, "print standard error instead of standard output")
	f.IntVar(&o.attempt, "attempt", 0, "the attempt, from 1 (0: the current or last)")
	return cmd
}

// copyLogs copies a replica's log stream to the command's output.
func copyLogs(cmd *cobra.Command, c *client.Client, id string, lo client.LogOptions) error {
	rc, err := c.Logs(ctxOf(cmd), id, lo)
	if err != nil {
		return err
	}
	defer rc.Close()
	if rc.Dropped > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "carnot: the first %d bytes of this output are no longer kept on its node (--task-log-max-mib); what follows is the end\n", rc.Dropped)
	}
	if _, err := io.Copy(cmd.OutOrStdout(), rc); err != nil {
		return fmt.Errorf("logs of %s: %w", id, err)
	}
	return nil
}
