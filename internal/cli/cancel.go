package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newCancelCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "cancel JOB…",
		Short: "Cancel jobs or deployments",
		Long: `Asks a running Carnot server to cancel each job: a pending job ends at
once; a running one is sent SIGTERM, then SIGKILL after its grace, and
is cancelled when its replicas have exited. Every job given is tried; the
command fails if any could not be cancelled.`,
		Example:           `  carnot cancel train-1 train-2`,
		Args:              jobArgs(1, -1),
		ValidArgsFunction: r.completeJobs(true, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			failed := 0
			for _, id := range args {
				j, err := c.CancelJob(ctxOf(cmd), id)
				if err != nil {
					if len(args) == 1 {
						return err
					}
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", id, err)
					continue
				}
				state := "cancelling"
				if j.State != "" {
					state = j.State
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", id, state)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d jobs could not be cancelled", failed, len(args))
			}
			return nil
		},
	}
	r.addServerFlag(cmd)
	return cmd
}
