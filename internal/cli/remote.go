package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// addrEnv names the environment variable that gives the server's tenant
// API address when --server is not set, and adminAddrEnv its operator
// API's (for the operator commands: nodes, drain, undrain, fence, unfence,
// token).
const (
	addrEnv      = "CARNOT_ADDR"
	adminAddrEnv = "CARNOT_ADMIN_ADDR"
)

// remote is what every command that talks to a running server shares:
// the --server flag and, for commands that print objects, -o.
type remote struct {
	server string
	output string
	token  string
	ca     string
	// admin: the command uses the operator API.
	admin bool
	// cmd is the command whose flags these are, to warn on its standard
	// error of a --token given.
	cmd *cobra.Command
}

// addServerFlag adds --server, defaulting to $CARNOT_ADDR, else
// client.DefaultAddr (for operator commands $CARNOT_ADMIN_ADDR, else
// client.DefaultAdminAddr), and the credentials' flags.
func (r *remote) addServerFlag(cmd *cobra.Command) {
	env, def, what := addrEnv, client.DefaultAddr, "tenant"
	if r.admin {
		env, def, what = adminAddrEnv, client.DefaultAdminAddr, "operator"
	}
	if v := os.Getenv(env); v != "" {
		def = v
	}
	cmd.Flags().StringVar(&r.server, "server", def,
		"Carnot server's "+what+" API address (https://host:port or host:port; a comma-separated list is tried in order); $"+env+" sets the default")
	r.cmd = cmd
	cmd.Flags().StringVar(&r.token, "token", "", "API token; default $"+tokenEnv+", which, unlike this flag, other users of the machine cannot see (ps, /proc); else carnot dev's (carnot-dev/token)")
	cmd.Flags().StringVar(&r.ca, "ca", "", "CA certificate (PEM) to trust the server with; default $"+caEnv+", else carnot dev's (carnot-dev/tls/ca.crt), else the system's")
}

// clientOptions are the options of a client of r's server.
func (r *remote) clientOptions(extra ...client.Option) ([]client.Option, error) {
	cr, err := cliCredentials(r.token, r.ca)
	if err != nil {
		return nil, err // a file that cannot be read: a failure, not a usage error
	}
	env := addrEnv
	if r.admin {
		env = adminAddrEnv
	}
	return append(append(cr.options(), client.WithAddrEnv(env)), extra...), nil
}

// addFlags adds --server and -o.
func (r *remote) addFlags(cmd *cobra.Command) {
	r.addServerFlag(cmd)
	addOutputFlag(cmd, &r.output)
}

// client checks -o (when the command has it) and returns a client of
// the server.
func (r *remote) client() (*client.Client, error) {
	if r.output != "" {
		if err := checkOutput(r.output); err != nil {
			return nil, err
		}
	}
	r.warnTokenFlag()
	opts, err := r.clientOptions(client.WithUserAgent("carnot/" + Version))
	if err != nil {
		return nil, err
	}
	c, err := client.New(r.server, opts...)
	if err != nil {
		return nil, usageError{fmt.Errorf("--server: %w", err)}
	}
	return c, nil
}

// warnTokenFlag warns on the command's standard error when the token
// came from --token: the command line is visible to every user of the
// machine while the command runs (ps, /proc/PID/cmdline; hours for
// logs -f or events -f) and stays in shell histories.
func (r *remote) warnTokenFlag() {
	if r.cmd == nil || !r.cmd.Flags().Changed("token") {
		return
	}
	fmt.Fprintf(r.cmd.ErrOrStderr(), "warning: --token shows the token to every user of this machine (ps, /proc) and in shell history; set $%s instead (read -rs %s && export %s, or %s=$(cat FILE))\n",
		tokenEnv, tokenEnv, tokenEnv, tokenEnv)
}

// completionTimeout bounds the server calls of shell completion, which
// must answer quickly or not at all.
const completionTimeout = 2 * time.Second

// completeJobs completes job IDs from the server's job list; with
// active, only jobs that are not final. It completes one argument unless
// many is set.
func (r *remote) completeJobs(active, many bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 && !many {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		opts, err := r.clientOptions(client.WithTimeout(completionTimeout))
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := client.New(r.server, opts...)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		o := client.ListOptions{Limit: 1000}
		if active {
			o.States = activeStates
		}
		jobs, err := c.AllJobs(ctxOf(cmd), o)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, j := range jobs {
			if strings.HasPrefix(j.ID, toComplete) {
				out = append(out, j.ID+"\t"+j.Tenant+" "+j.State)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNodes completes node names.
func (r *remote) completeNodes(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	opts, err := r.clientOptions(client.WithTimeout(completionTimeout))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := client.New(r.server, opts...)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	l, err := c.ListNodes(ctxOf(cmd))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, n := range l.Nodes {
		if strings.HasPrefix(n.Name, toComplete) {
			out = append(out, n.Name+"\t"+n.Condition)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// activeStates are the states of jobs that are not final.
var activeStates = []string{api.StatePending, api.StateRunning, api.StatePreempting, api.StateCancelling}

// ctxOf is the command's context (cobra leaves it nil when run without
// one).
func ctxOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
