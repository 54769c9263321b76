package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// ListNodes returns every registered node (GET /v1/nodes).
func (c *Client) ListNodes(ctx context.Context) (*api.NodeList, error) {
	return get[api.NodeList](ctx, c, "/v1/nodes", nil)
}

// GetNode returns one node (GET /v1/nodes/{name}).
func (c *Client) GetNode(ctx context.Context, name string) (*api.Node, error) {
	return get[api.Node](ctx, c, "/v1/nodes/"+seg(name), nil)
}

// Drain stops new work from being placed on a node; what runs there keeps
// running (POST /v1/nodes/{name}/drain). It returns the node as the
// server answered it (its name only when the answer had no body).
func (c *Client) Drain(ctx context.Context, name string) (*api.Node, error) {
	return c.nodeOp(ctx, name, "drain")
}

// Undrain lets a drained node take work again (POST
// /v1/nodes/{name}/undrain).
func (c *Client) Undrain(ctx context.Context, name string) (*api.Node, error) {
	return c.nodeOp(ctx, name, "undrain")
}

// ForgetNode forgets a node retired for good (DELETE /v1/nodes/{name};
// operator-admin only): one the facility file does not list, whose agent
// is silent, running nothing.
func (c *Client) ForgetNode(ctx context.Context, name string) error {
	return c.call(ctx, &request{method: http.MethodDelete, path: "/v1/nodes/" + seg(name)}, 0, nil)
}

// ReenrollNode lets node name enroll once more with a join token of its
// site (POST /v1/nodes/{name}/reenroll; operator-admin only): a join
// token enrolls a name once, so a machine reinstalled, or that lost its
// key, needs an operator-admin's word to enroll again. The word lasts ttl
// (whole seconds; 0: the server's default, an hour); the answer says
// until when. A node whose agent still reports is refused (409) unless
// force.
func (c *Client) ReenrollNode(ctx context.Context, name string, ttl time.Duration, force bool) (*api.Reenroll, error) {
	body, err := json.Marshal(api.ReenrollRequest{TTLSeconds: int64(ttl / time.Second)})
	if err != nil {
		return nil, err
	}
	r := &request{method: http.MethodPost, path: "/v1/nodes/" + seg(name) + "/reenroll", body: body}
	if force {
		r.query = url.Values{"force": {"true"}}
	}
	var a api.Reenroll
	if err := c.call(ctx, r, 0, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// RevokeNode makes the server refuse every certificate node name holds
// (POST /v1/nodes/{name}/revoke; operator-admin only): its agent is
// refused until it enrolls again, after ReenrollNode.
func (c *Client) RevokeNode(ctx context.Context, name string) error {
	return c.call(ctx, &request{method: http.MethodPost, path: "/v1/nodes/" + seg(name) + "/revoke"}, 0, nil)
}

// Fence declares a node out of service — powered off, running nothing —
// (POST /v1/nodes/{name}/fence; operator-admin only): its lost replicas
// count as stopped, and it takes no work until unfenced.
// A node whose agent reports and that runs work is refused (409, the
// problem listing that work) unless force.
func (c *Client) Fence(ctx context.Context, name string, force bool) (*api.Node, error) {
	n := api.Node{Name: name}
	r := &request{method: http.MethodPost, path: "/v1/nodes/" + seg(name) + "/fence"}
	if force {
		r.query = url.Values{"force": {"true"}}
	}
	if err := c.call(ctx, r, 0, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// Unfence ends a node's fence (POST /v1/nodes/{name}/unfence).
func (c *Client) Unfence(ctx context.Context, name string) (*api.Node, error) {
	return c.nodeOp(ctx, name, "unfence")
}

func (c *Client) nodeOp(ctx context.Context, name, op string) (*api.Node, error) {
	n := api.Node{Name: name}
	if err := c.post(ctx, "/v1/nodes/"+seg(name)+"/"+op, nil, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// Sites returns the facility's sites with their live power and capacity
// (GET /v1/sites).
func (c *Client) Sites(ctx context.Context) (*api.SiteList, error) {
	return get[api.SiteList](ctx, c, "/v1/sites", nil)
}

// Tenants returns the tenants with their quota and usage (GET
// /v1/tenants).
func (c *Client) Tenants(ctx context.Context) (*api.TenantList, error) {
	return get[api.TenantList](ctx, c, "/v1/tenants", nil)
}

// Usage returns the consumption per tenant and the total (GET /v1/usage).
func (c *Client) Usage(ctx context.Context) (*api.UsageList, error) {
	return get[api.UsageList](ctx, c, "/v1/usage", nil)
}

// Plan returns the plan of the last scheduling pass (GET /v1/plan).
func (c *Client) Plan(ctx context.Context) (*api.Plan, error) {
	return get[api.Plan](ctx, c, "/v1/plan", nil)
}

// Health checks that the server is up (GET /healthz).
func (c *Client) Health(ctx context.Context) error {
	return c.call(ctx, &request{method: http.MethodGet, path: "/healthz"}, 0, nil)
}

// Ready checks that the server is ready to serve (GET /readyz).
func (c *Client) Ready(ctx context.Context) error {
	return c.call(ctx, &request{method: http.MethodGet, path: "/readyz"}, 0, nil)
}

// maxRaw bounds GetRaw's answer.
const maxRaw = 64 << 20

// GetRaw returns the body of a GET of path (e.g. "/metrics" or
// "/v1/openapi.json") as it is.
func (c *Client) GetRaw(ctx context.Context, path string) ([]byte, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	body, err := c.stream(ctx, &request{method: http.MethodGet, path: path, header: http.Header{"Accept": {"*/*"}}})
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxRaw+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if len(data) > maxRaw {
		return nil, fmt.Errorf("GET %s: the answer is larger than %d MiB", path, maxRaw>>20)
	}
	return data, nil
}

// Metrics returns the server's Prometheus metrics (GET /metrics).
func (c *Client) Metrics(ctx context.Context) ([]byte, error) { return c.GetRaw(ctx, "/metrics") }

// OpenAPI returns the API's OpenAPI document (GET /v1/openapi.json).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	return c.GetRaw(ctx, "/v1/openapi.json")
}

// AuditCheckpoint returns a checkpoint of the audit log signed now (GET
// /v1/audit/checkpoint): a signed note to keep for later checks.
func (c *Client) AuditCheckpoint(ctx context.Context) ([]byte, error) {
	return c.GetRaw(ctx, "/v1/audit/checkpoint")
}

// AuditExport returns the whole audit log with a checkpoint (GET
// /v1/audit/export), in the format `carnot audit verify` reads.
func (c *Client) AuditExport(ctx context.Context) ([]byte, error) {
	return c.GetRaw(ctx, "/v1/audit/export")
}

// AuditEntries returns a tenant's (or, with tenant "", a job's) audit
// entries with their inclusion proofs (GET /v1/audit/entries), all of
// them: it follows the pages (limit entries each, 0 for the server's
// default), each asked for in the tree of the first page's checkpoint,
// and returns them as one answer with that checkpoint.
func (c *Client) AuditEntries(ctx context.Context, tenant, job string, limit int) (*api.AuditEntries, error) {
	q := url.Values{}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	if job != "" {
		q.Set("job", job)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	all, err := get[api.AuditEntries](ctx, c, "/v1/audit/entries", q)
	if err != nil || all.Next == nil {
		return all, err
	}
	// The checkpoint's text is "ORIGIN\nSIZE\nROOT\n…".
	lines := strings.SplitN(all.Checkpoint, "\n", 3)
	if len(lines) < 3 {
		return nil, fmt.Errorf("GET /v1/audit/entries: a checkpoint without a tree size: %q", all.Checkpoint)
	}
	q.Set("size", lines[1])
	for next := all.Next; next != nil; {
		q.Set("after", strconv.FormatInt(*next, 10))
		page, err := get[api.AuditEntries](ctx, c, "/v1/audit/entries", q)
		if err != nil {
			return nil, err
		}
		if page.Checkpoint != all.Checkpoint {
			return nil, fmt.Errorf("GET /v1/audit/entries: the page after seq %d is proven in another tree than the first page's", *next)
		}
		all.Entries = append(all.Entries, page.Entries...)
		next = page.Next
	}
	all.Next = nil
	return all, nil
}

// AuditConsistency returns the proof that the audit log's tree of size
// oldSize (a checkpoint kept earlier) is a prefix of its tree of size
// newSize (0: the log now), with a checkpoint of that tree (GET
// /v1/audit/consistency). audit.VerifyConsistency checks it.
func (c *Client) AuditConsistency(ctx context.Context, oldSize, newSize int64) (*api.AuditConsistency, error) {
	q := url.Values{"old": {strconv.FormatInt(oldSize, 10)}}
	if newSize != 0 {
		q.Set("new", strconv.FormatInt(newSize, 10))
	}
	return get[api.AuditConsistency](ctx, c, "/v1/audit/consistency", q)
}
