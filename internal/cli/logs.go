package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
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
default the replica of rank 0 (RANK=0) of the current (or last) attempt:
replica 0, unless a deployment replaced it (then its replacement) or the
attempt asked for is an earlier one (then replica 0); -f keeps following
the output until the replica ends, and waits (saying why on stderr) for
a job that has not started yet. When the server restarts or the
connection breaks, -f reconnects (saying so on stderr) and goes on from
the last byte printed, so that no output is lost or printed twice.`,
		Example: `  carnot logs train-1
  carnot logs -f --replica 3 --stderr train-1`,
		Args:              jobArgs(1, 1),
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
			return copyLogs(cmd, c, args[0], lo, !cmd.Flags().Changed("replica"))
		},
	}
	o.addServerFlag(cmd)
	f := cmd.Flags()
	f.BoolVarP(&o.follow, "follow", "f", false, "keep printing output until the replica ends")
	f.IntVar(&o.replica, "replica", 0, "the replica, from 0 (default: the one of rank 0)")
	f.BoolVar(&o.stderr, "stderr", false, "print standard error instead of standard output")
	f.IntVar(&o.attempt, "attempt", 0, "the attempt, from 1 (0: the current or last)")
	return cmd
}

// copyLogs copies a replica's log stream to the command's output. With
// Follow it rides out a server restart or a broken connection: it
// reconnects, saying so on stderr, and resumes where it was.
func copyLogs(cmd *cobra.Command, c *client.Client, id string, lo client.LogOptions, rank0 bool) error {
	ctx := ctxOf(cmd)
	if rank0 && !lo.Follow && lo.Attempt == 0 {
		j, err := c.GetJob(ctx, id)
		if err != nil {
			return err
		}
		lo.Replica = rankZero(j)
	}
	if lo.Follow {
		// The first call is not retried: a server never reached (down,
		// or a wrong address) fails the command at once, as it does
		// every other; once reached, a restart is ridden out.
		j, err := c.GetJob(ctx, id)
		if err != nil {
			return err
		}
		// A job still in the queue has no output yet: wait for it to
		// start, saying why it waits, as run -f does.
		for said := ""; lo.Attempt == 0 && j.Attempt == 0 && !api.Final(j.State); {
			if msg := waitLine(j); msg != said {
				fmt.Fprintln(cmd.ErrOrStderr(), msg)
				said = msg
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pollInterval):
			}
			if j, err = getJob(ctx, c, id, cmd.ErrOrStderr()); err != nil {
				return err
			}
		}
		if rank0 && (lo.Attempt == 0 || lo.Attempt == j.Attempt) {
			lo.Replica = rankZero(j)
		}
		if lo.Attempt == 0 {
			// Pinned, so that a reconnection follows the same attempt
			// and knows when its replica ended.
			lo.Attempt = j.Attempt
		}
	}
	f := newLogFollower(c, id, lo, cmd.OutOrStdout(), cmd.ErrOrStderr())
	f.reconnect = lo.Follow
	err := f.copy(ctx, lo.Follow)
	var b brokenStream
	if errors.As(err, &b) {
		return fmt.Errorf("logs of %s: %w", id, b.err)
	}
	return err
}

// rankZero is the index of j's replica of rank 0 in its current attempt:
// the one that holds it (a deployment's replacement takes the rank of the
// replica it replaced; one replaced is released), else the last that
// did, else 0.
func rankZero(j *api.Job) int {
	holder, last := -1, -1
	for i, r := range j.Replicas {
		if r.Rank != 0 {
			continue
		}
		last = i
		if !r.Released {
			holder = i
		}
	}
	switch {
	case holder >= 0:
		return j.Replicas[holder].Index
	case last >= 0:
		return j.Replicas[last].Index
	}
	return 0
}
