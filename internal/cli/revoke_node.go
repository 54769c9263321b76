package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// newRevokeNodeCmd returns `carnot revoke-node`.
func newRevokeNodeCmd() *cobra.Command {
	return nodeOpCmd("revoke-node", "Refuse every certificate of nodes at once",
		`Revokes the certificates of each node: the server refuses them from now,
though they have not expired, and the node's agent is refused (401) until
it enrolls again, which takes a 'carnot reenroll-node' given after this
(one given before is withdrawn) and a join token of its site. Use it for
a node whose key may be stolen, or a machine you no longer trust. The
node takes no new work from now (it shows draining), and its heartbeats
are refused, so what it runs is handled as on a silent node (replicas
lost at the heartbeat timeout, its power at nameplate while it may still
run them); fence it once you know it is off.
A node's enrollment (the first, or one after reenroll-node) already
refuses the certificates issued before it. Operator-admin only; each is
recorded with who asked for it.`, "is refused from now: its certificates are revoked", func(c *client.Client) nodeOp {
			return func(ctx context.Context, name string) (*api.Node, error) {
				return &api.Node{}, c.RevokeNode(ctx, name)
			}
		})
}
