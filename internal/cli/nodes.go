package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

func newNodesCmd() *cobra.Command {
	r := remote{admin: true}
	cmd := &cobra.Command{
		Use:   "nodes [-o table|json|yaml]",
		Short: "List the nodes registered with the server",
		Long: `Lists the nodes whose agents registered with a running Carnot server:
their site, condition (ready, draining, not-ready; ",drained" and
",fenced" when an operator drained or fenced them; ",unreachable" when
the node may still run work the server no longer assigns it: it takes
nothing new and its power counts at nameplate; ",disk-error" when its
agent cannot write its data directory, so it takes nothing new;
",not-heard-since-restart" when the server, since it started, has not
heard from its agent, so it takes nothing new until the agent reports,
and is not-ready at the heartbeat timeout if it never does; ",revoked"
when an operator-admin revoked its certificates: its agent is refused and
it takes nothing new until it enrolls again), GPUs in use (and
"(N down)" when its agent reports GPUs it cannot use: lost, fallen off
the bus; nothing is placed on them until it reports them up), GPU
model, the time since their last heartbeat and the jobs they run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			l, err := c.ListNodes(ctxOf(cmd))
			if err != nil {
				return err
			}
			if r.output != outTable {
				return printObject(cmd.OutOrStdout(), r.output, l)
			}
			return nodesTable(cmd.OutOrStdout(), time.Now(), l.Nodes)
		},
	}
	r.addFlags(cmd)
	return cmd
}

// conditionOf is a node's condition as carnot nodes shows it: the
// server's, with what else keeps work off it ("ready,fenced").
func conditionOf(n *api.Node) string {
	cond := n.Condition
	if n.Drained && cond != api.NodeDraining {
		cond += ",drained"
	}
	if n.Fenced {
		cond += ",fenced"
	}
	if n.Unreachable {
		cond += ",unreachable" // may still run lost work: nameplate power, no new work
	}
	if n.DiskError != "" {
		cond += ",disk-error" // its agent cannot write its data directory: no new work
	}
	if n.NotHeardSinceRestart {
		cond += ",not-heard-since-restart" // its agent may be gone: no new work until it reports
	}
	if n.CertificatesRevoked {
		cond += ",revoked" // its agent is refused: no new work until it enrolls again
	}
	return cond
}

func nodesTable(w io.Writer, now time.Time, nodes []api.Node) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tSITE\tCONDITION\tGPUS\tMODEL\tCPUS\tMEMORY\tHEARTBEAT\tJOBS")
	for _, n := range nodes {
		cond := conditionOf(&n)
		model := dash(n.GPUModel)
		if n.FakeGPUs {
			model += " (fake)"
		}
		gpus := fmt.Sprintf("%d/%d", n.GPUsUsed, n.GPUs)
		if len(n.GPUsDown) > 0 {
			gpus += fmt.Sprintf(" (%d down)", len(n.GPUsDown)) // lost GPUs: nothing is placed on them
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%dGi\t%s\t%s\n", n.Name, dash(n.Site), cond,
			gpus, model, n.CPUs, n.MemoryGiB, ago(now, n.LastHeartbeat),
			trunc(dash(strings.Join(n.Jobs, ",")), 40))
	}
	return tw.Flush()
}

// newDrainCmd returns `carnot drain` (undrain false) or `carnot undrain`.
func newDrainCmd(undrain bool) *cobra.Command {
	use, short, long, done := "drain", "Stop placing new work on nodes",
		`Drains nodes: the scheduler places no new replica on them; what runs
there keeps running. A drained node stays drained, across agent restarts,
until undrained.`, "drained"
	if undrain {
		use, short, long, done = "undrain", "Let drained nodes take work again",
			"Undrains nodes: the scheduler may place replicas on them again.", "undrained"
	}
	return nodeOpCmd(use, short, long, done, func(c *client.Client) nodeOp {
		if undrain {
			return c.Undrain
		}
		return c.Drain
	})
}

// nodeOp changes one node through the API and returns it.
type nodeOp func(context.Context, string) (*api.Node, error)

// nodeOpCmd is a command that applies the operation opOf picks to every
// node named on the operator API (drain, fence and their undoing).
func nodeOpCmd(use, short, long, done string, opOf func(*client.Client) nodeOp) *cobra.Command {
	return nodeCmd(use, short, long, func(ctx context.Context, c *client.Client, name string) (string, error) {
		n, err := opOf(c)(ctx, name)
		if err != nil {
			return "", err
		}
		return nodeLine(name, done, n), nil
	})
}

// nodeCmd is a command that applies op to every node named on the
// operator API, printing the line op returns for each; it fails if any
// failed.
func nodeCmd(use, short, long string, op func(ctx context.Context, c *client.Client, name string) (string, error)) *cobra.Command {
	r := remote{admin: true}
	cmd := &cobra.Command{
		Use:               use + " NODE…",
		Short:             short,
		Long:              long,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: r.completeNodes,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			return eachNode(ctxOf(cmd), cmd, args, func(ctx context.Context, name string) (string, error) { return op(ctx, c, name) })
		},
	}
	r.addServerFlag(cmd)
	return cmd
}

// eachNode applies op to every node named, printing the line it returns
// for each; it fails if any failed.
func eachNode(ctx context.Context, cmd *cobra.Command, names []string, op func(context.Context, string) (string, error)) error {
	var failed []string
	for _, name := range names {
		line, err := op(ctx, name)
		if err != nil {
			if len(names) == 1 {
				return err
			}
			failed = append(failed, name)
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", name, err)
			continue
		}
		fmt.Fprintln(cmd.OutOrStdout(), line)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d nodes failed: %s", len(failed), len(names), strings.Join(failed, ", "))
	}
	return nil
}

// nodeLine says that node name is done, as n now is.
func nodeLine(name, done string, n *api.Node) string {
	line := "node " + name + " " + done
	if n.Condition != "" {
		line += " (" + conditionOf(n) + ", " + strconv.Itoa(n.GPUsUsed) + "/" + strconv.Itoa(n.GPUs) + " GPUs in use)"
	}
	switch {
	case done == "undrained" && n.Fenced:
		line += "; it is still fenced: it takes no work until unfenced"
	case done == "unfenced" && n.Drained:
		line += "; it is still drained: it takes no new work until undrained"
	// In the order of the server's own event (handleDrain).
	case done == "undrained" && n.Condition == api.NodeDraining && n.CertificatesRevoked:
		line += "; its certificates are revoked: it takes new work once it enrolls again"
	case done == "undrained" && n.Condition == api.NodeDraining && n.NotHeardSinceRestart:
		line += "; the server has not heard from its agent since it started: it takes new work once the agent reports"
	case done == "undrained" && n.Condition == api.NodeDraining && n.DiskError != "":
		line += "; its agent cannot write its data directory: it takes new work once it can"
	case done == "undrained" && n.Condition == api.NodeDraining:
		// undrained, yet draining: its agent said it is shutting down
		line += "; its agent is shutting down: it takes new work once the agent is back"
	}
	return line
}
