package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/carnot-dc/carnot/internal/api"
)

// WhoAmI returns the principal the client's credentials stand for.
func (c *Client) WhoAmI(ctx context.Context) (*api.WhoAmI, error) {
	var out api.WhoAmI
	return &out, c.call(ctx, &request{method: http.MethodGet, path: "/v1/whoami"}, 0, &out)
}

// CreateToken creates a token; the answer holds its secret, shown once.
func (c *Client) CreateToken(ctx context.Context, req api.TokenRequest) (*api.Token, error) {
	var out api.Token
	return &out, c.post(ctx, "/v1/tokens", req, &out)
}

// ListTokens lists the tokens the caller may see.
func (c *Client) ListTokens(ctx context.Context) (*api.TokenList, error) {
	var out api.TokenList
	return &out, c.call(ctx, &request{method: http.MethodGet, path: "/v1/tokens"}, 0, &out)
}

// RevokeToken revokes the token id.
func (c *Client) RevokeToken(ctx context.Context, id string) (*api.Token, error) {
	var out api.Token
	return &out, c.post(ctx, "/v1/tokens/"+url.PathEscape(id)+"/revoke", nil, &out)
}

// Enroll exchanges the client's join token for a node certificate.
func (c *Client) Enroll(ctx context.Context, e api.Enroll) (*api.Enrolled, error) {
	var out api.Enrolled
	return &out, c.post(ctx, "/v1/agent/enroll", e, &out)
}

// ListSecrets lists the names of a tenant's secrets ("" for the caller's
// tenant).
func (c *Client) ListSecrets(ctx context.Context, tenant string) (*api.SecretList, error) {
	var out api.SecretList
	return &out, c.call(ctx, &request{method: http.MethodGet, path: "/v1/secrets", query: tenantQuery(tenant)}, 0, &out)
}

// PutSecret sets a tenant's secret.
func (c *Client) PutSecret(ctx context.Context, name string, v api.SecretValue) (*api.Secret, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out api.Secret
	return &out, c.call(ctx, &request{method: http.MethodPut, path: "/v1/secrets/" + url.PathEscape(name), body: body,
		header: http.Header{"Content-Type": {"application/json"}}}, 0, &out)
}

// DeleteSecret deletes a tenant's secret ("" for the caller's tenant).
func (c *Client) DeleteSecret(ctx context.Context, tenant, name string) error {
	return c.call(ctx, &request{method: http.MethodDelete, path: "/v1/secrets/" + url.PathEscape(name), query: tenantQuery(tenant)}, 0, nil)
}

func tenantQuery(tenant string) url.Values {
	if tenant == "" {
		return nil
	}
	return url.Values{"tenant": {tenant}}
}
