package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// The node agent's calls. Their signatures are the agent's Server
// interface, which *Client satisfies.

// Register announces a node (POST /v1/agent/register).
func (c *Client) Register(ctx context.Context, r api.Register) (api.Registered, error) {
	var out api.Registered
	err := c.post(ctx, "/v1/agent/register", r, &out)
	return out, err
}

// Heartbeat reports a node's tasks and telemetry (POST
// /v1/agent/nodes/{name}/heartbeat) and returns the current assignments
// version.
func (c *Client) Heartbeat(ctx context.Context, node string, hb api.Heartbeat) (api.HeartbeatReply, error) {
	var out api.HeartbeatReply
	err := c.post(ctx, "/v1/agent/nodes/"+seg(node)+"/heartbeat", hb, &out)
	return out, err
}

// Assignments returns what a node should run (GET
// /v1/agent/nodes/{name}/assignments?after=N&wait=30s). With wait > 0 the
// server holds the call until the version exceeds after or wait passes;
// the call's own timeout is the client's timeout on top of wait.
func (c *Client) Assignments(ctx context.Context, node string, after int64, wait time.Duration) (api.Assignments, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	var out api.Assignments
	err := c.call(ctx, &request{method: http.MethodGet, path: "/v1/agent/nodes/" + seg(node) + "/assignments", query: q}, wait, &out)
	return out, err
}
