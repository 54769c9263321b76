package cli

import "github.com/spf13/cobra"

func newFacilityCmd() *cobra.Command {
	return &cobra.Command{Use: "facility", Short: "not yet implemented"}
}
