package cli

import (
	"github.com/spf13/cobra"

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
recorded with who asked for it.`, "fenced"
	if unfence {
		use, short, long, done = "unfence", "Return fenced nodes to service",
			`Unfences nodes: the server treats them by their condition again; a
ready node takes work, a silent one counts as down.`, "unfenced"
	}
	return nodeOpCmd(use, short, long, done, func(c *client.Client) nodeOp {
		if unfence {
			return c.Unfence
		}
		return c.Fence
	})
}
