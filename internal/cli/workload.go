package cli

import "github.com/spf13/cobra"

func newWorkloadCmd() *cobra.Command {
	return &cobra.Command{Use: "workload", Short: "not yet implemented"}
}
