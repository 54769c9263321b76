// Package cli builds the carnot command line: one file per subcommand,
// wired together here.
package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Version is Carnot's version; release builds set it with
// -ldflags "-X github.com/carnot-dc/carnot/internal/cli.Version=v…".
var Version = "dev"

// Main runs the CLI with args and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := NewRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// NewRoot returns the root command with every subcommand attached.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Version:       Version,
		Use:           "carnot",
		Short:         "Carnot: the control plane for sovereign AI data centers",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newFacilityCmd(), newWorkloadCmd(), newScheduleCmd())
	return root
}
