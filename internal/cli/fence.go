package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// newFenceCmd returns `carnot fence` (unfence false) or `carnot unfence`.
func newFenceCmd(unfence bool) *cobra.Command {
	use, short, long, done := "fence", "Declare nodes out of service (powered off, running nothing)",
		`Fences nodes: you confirm that each is powered off or isolated and runs
nothing. Use it for a node that went silent while it ran work and will not
come back soon: until its agent reports that work stopped, the server
assumes it may still run it and reserves the node's nameplate power (every
GPU at full power); a fence releases that reserve, and the node counts as
a down one (base and idle power). Its replicas still live are lost, and
their jobs restart elsewhere as their restart policy allows.

A fenced node takes no work until unfenced, even when its agent registers
again; an agent that comes back still running tasks has them stopped, and
its node counts at full power until they are. Fencing a node that is still
on while the server cannot reach it makes the site's power accounting
wrong: fence only what you know is off. Operator-admin only; each fence is
recorded with who asked for it.

A node whose agent still reports (ready or draining) and that runs work is
not fenced: the server refuses and lists the jobs that would stop. Drain
it instead to keep that work (carnot drain), or give --force to stop it
and fence the node now. A silent node, one that runs nothing, or one
whose certificates are revoked (carnot revoke-node) needs no --force.`, "fenced"
	if unfence {
		use, short, long, done = "unfence", "Return fenced nodes to service",
			`Unfences nodes: the server treats them by their condition again; a
ready node takes work, a silent one counts as down.`, "unfenced"
	}
	var force bool
	cmd := nodeOpCmd(use, short, long, done, func(c *client.Client) nodeOp {
		if unfence {
			return c.Unfence
		}
		return func(ctx context.Context, name string) (*api.Node, error) { return c.Fence(ctx, name, force) }
	})
	if !unfence {
		cmd.Flags().BoolVar(&force, "force", false, "fence a node whose agent reports even while it runs work, which stops that work (its jobs restart elsewhere by their restart policy)")
	}
	return cmd
}

// newReenrollNodeCmd returns `carnot reenroll-node`.
func newReenrollNodeCmd() *cobra.Command {
	var ttl time.Duration
	var force bool
	cmd := nodeCmd("reenroll-node", "Let enrolled nodes enroll again with a join token, for a while",
		`Lets each node enroll once more with a join token of the site it enrolled
in, until the allowance expires (--ttl, an hour by default; at most 7
days); it prints until when. A join token enrolls a node name once:
enrolling a name already enrolled is refused, so that whoever holds a join
token cannot obtain the certificate of a running node, and an allowance
left open would undo that, hence its expiry. An enrollment after it is
refused, saying so: allow it again. A node's agent renews its own
certificate with that certificate while it is valid; use this for a
machine reinstalled or whose --data-dir (its key) was lost, or a node
whose certificate expired, then start its agent with a join token. A
node whose agent still reports needs no new certificate: the server
refuses, unless --force (check the name; stop the agent of a machine to
reinstall first). The certificates the node already holds stay valid
until that enrollment, which accepts only its new certificate from then
on; to refuse them at once, use carnot revoke-node. Operator-admin only;
each is recorded with who asked for it.`, func(ctx context.Context, c *client.Client, name string) (string, error) {
			a, err := c.ReenrollNode(ctx, name, ttl, force)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("node %s may enroll again with a join token of site %s until %s (in %s)",
				name, a.Site, a.Expires.UTC().Format(time.RFC3339), ttl), nil
		})
	cmd.Flags().DurationVar(&ttl, "ttl", time.Hour, "how long the allowance lasts (whole seconds, 1s to 168h)")
	cmd.Flags().BoolVar(&force, "force", false, "allow it even while the node's agent still reports")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if ttl < time.Second || ttl > 7*24*time.Hour || ttl%time.Second != 0 {
			return usageError{fmt.Errorf("--ttl %s: from 1s to 168h, in whole seconds", ttl)}
		}
		return nil
	}
	return cmd
}

// newForgetNodeCmd returns `carnot forget-node`.
func newForgetNodeCmd() *cobra.Command {
	return nodeOpCmd("forget-node", "Forget retired nodes for good",
		`Forgets nodes retired for good: each leaves the server's node list, its
site's GPUs and its power envelope, with a node event naming who asked.
Only a node that can be nothing else is forgotten: one the facility file
does not list (it joined by itself, with --dynamic-nodes; a listed node is
removed from the file instead), whose agent is silent, and that runs
nothing and may run nothing (an unreachable node is fenced first, once
you know it is off). The server refuses anything else and says why. An
agent of that name that registers later joins afresh, as a new node.
Operator-admin only.`, "forgotten", func(c *client.Client) nodeOp {
			return func(ctx context.Context, name string) (*api.Node, error) {
				return &api.Node{}, c.ForgetNode(ctx, name)
			}
		})
}
