package cli

import "github.com/spf13/cobra"

func newScheduleCmd() *cobra.Command {
	return &cobra.Command{Use: "schedule", Short: "not yet implemented"}
}
