// Package cli builds the carnot command line: one file per subcommand,
// wired together here.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Version is Carnot's version; release builds set it with
// -ldflags "-X github.com/carnot-dc/carnot/internal/cli.Version=v…".
var Version = "dev"

// Exit codes: 1 for a failure (bad input, a file that cannot be read),
// 2 for a command line that cannot be run as written.
const (
	ExitFailure = 1
	ExitUsage   = 2
)

// usageError marks a mistake in the command line itself.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// Main runs the CLI with args and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := NewRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	// cobra adds its completion group at ExecuteC, writing to the output
	// set by then: add it now, to refuse its unknown words too
	root.InitDefaultCompletionCmd()
	refuseUnknown(root)
	refuseUnknownHelp(root)
	if cmd, err := root.ExecuteC(); err != nil {
		var ex exitError
		if errors.As(err, &ex) && ex.err == nil {
			return ex.code // the command said why
		}
		fmt.Fprintln(stderr, "error:", err)
		if isUsage(err) {
			if cmd != nil && cmd != root {
				fmt.Fprintf(stderr, "run '%s --help' for usage\n", cmd.CommandPath())
			} else {
				fmt.Fprintln(stderr, "run 'carnot --help' (or 'carnot COMMAND --help') for usage")
			}
			return ExitUsage
		}
		if errors.As(err, &ex) {
			return ex.code
		}
		return ExitFailure
	}
	return 0
}

// exitError is a failure that exits with its own code: `run -f` passes
// the job's on. Without err the command has said why on stderr already.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}
func (e exitError) Unwrap() error { return e.err }

// isUsage tells command-line mistakes from failures. Cobra reports some
// of them (unknown commands, missing required flags, argument counts) as
// plain errors, recognised by their wording.
func isUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "required flag",
		"accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// argsNamed checks a command's argument count, between lo and hi (-1:
// no limit), and names what is missing or extra by what (e.g. "JOB"),
// with the command's usage line.
func argsNamed(what string, lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		usage := cmd.CommandPath() + strings.TrimPrefix(cmd.Use, cmd.Name())
		switch {
		case len(args) < lo:
			return usageError{fmt.Errorf("%s needs %s: %s", cmd.CommandPath(), what, usage)}
		case hi >= 0 && len(args) > hi:
			n := "one"
			if hi != 1 {
				n = fmt.Sprint(hi)
			}
			if hi != lo {
				n = "at most " + n
			}
			return usageError{fmt.Errorf("%s takes %s %s, got %d arguments (%s): %s",
				cmd.CommandPath(), n, what, len(args), strings.Join(args, " "), usage)}
		}
		return nil
	}
}

// jobArgs is argsNamed for JOB arguments, none of which may be empty: ""
// is a shell variable that is not set ("$JOB"), which would otherwise
// read as no JOB (carnot events, all of them) or reach the API as a path.
func jobArgs(lo, hi int) cobra.PositionalArgs {
	named := argsNamed("JOB", lo, hi)
	return func(cmd *cobra.Command, args []string) error {
		if err := named(cmd, args); err != nil {
			return err
		}
		for _, a := range args {
			if strings.TrimSpace(a) == "" {
				return usageError{fmt.Errorf("%s: JOB must not be empty (got %q; an unset shell variable?)", cmd.CommandPath(), a)}
			}
		}
		return nil
	}
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
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newFacilityCmd(), newWorkloadCmd(), newScheduleCmd(), newSimCmd(), newPlanCmd(),
		newRunCmd(), newSubmitCmd(), newJobsCmd(), newDescribeCmd(), newWhyCmd(), newLogsCmd(), newEventsCmd(), newCancelCmd(), newCheckpointCmd(),
		newNodesCmd(), newDrainCmd(false), newDrainCmd(true), newFenceCmd(false), newFenceCmd(true), newForgetNodeCmd(), newReenrollNodeCmd(), newRevokeNodeCmd(), newUsageCmd(),
		newTenantsCmd(), newSitesCmd(),
		newDevCmd(), newServerCmd(), newAgentCmd(), newAuditCmd(), newTokenCmd(), newWhoAmICmd())
	refuseUnknown(root)
	return root
}

// refuseUnknownHelp makes `carnot help WORD…` refuse words that name no
// command as a usage error; cobra's help command prints "Unknown help
// topic" and succeeds.
func refuseUnknownHelp(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	h, _, err := root.Find([]string{"help"})
	if err != nil || h == root || h.Run == nil {
		return
	}
	run := h.Run
	h.Run = nil
	h.RunE = func(c *cobra.Command, args []string) error {
		if cmd, rest, err := c.Root().Find(args); err != nil || len(rest) > 0 || (cmd == c.Root() && len(args) > 0) {
			return usageError{fmt.Errorf("unknown help topic %q: run 'carnot --help' for the commands", strings.Join(args, " "))}
		}
		run(c, args)
		return nil
	}
}

// refuseUnknown makes each command group under root (carnot workload,
// token, …; a group it made runnable is left as it is) refuse a word that is none of its subcommands as a usage
// error, as the root does; cobra would print the group's help and
// succeed. A group alone still prints its help.
func refuseUnknown(root *cobra.Command) {
	for _, c := range root.Commands() {
		refuseUnknown(c)
		if !c.HasSubCommands() || c.Runnable() {
			continue
		}
		c.Args = cobra.ArbitraryArgs
		c.SuggestionsMinimumDistance = 2 // cobra's own, set only where it looks
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			err := fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				err = fmt.Errorf("%w (did you mean %s?)", err, strings.Join(s, " or "))
			}
			return usageError{err}
		}
	}
}
