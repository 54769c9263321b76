package api

import "time"

// TokenRequest is POST /v1/tokens: a new API token, or a join token
// (role "join" with a site) for enrolling nodes.
type TokenRequest struct {
	Name   string `json:"name"`
	Role   string `json:"role"`
	Tenant string `json:"tenant,omitempty"`
	Site   string `json:"site,omitempty"`
	// TTLSeconds is how long the token lasts; 0 means no expiry for API
	// tokens and 24 hours for join tokens.
	TTLSeconds int64 `json:"ttl_seconds,omitempty"`
}

// Token is a token as the API shows it. Secret is set only in the answer
// to its creation: the server keeps only a keyed hash of it.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Tenant    string     `json:"tenant,omitempty"`
	Site      string     `json:"site,omitempty"`
	Created   time.Time  `json:"created"`
	CreatedBy string     `json:"created_by"`
	Expires   *time.Time `json:"expires,omitempty"`
	Revoked   *time.Time `json:"revoked,omitempty"`
	// OtherKey marks a token made under another token key than the
	// server's: it does not authenticate (docs/security.md).
	OtherKey bool `json:"other_key,omitempty"`
	// PreviousKey marks a token made under one of the server's previous
	// token keys (a rotation): it authenticates until that key is
	// retired; replace it before.
	PreviousKey bool   `json:"previous_key,omitempty"`
	Secret      string `json:"secret,omitempty"`
}

// TokenList is GET /v1/tokens.
type TokenList struct {
	Tokens []Token `json:"tokens"`
}

// WhoAmI is GET /v1/whoami: the principal the request's credential
// stands for.
type WhoAmI struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
	Tenant  string `json:"tenant,omitempty"`
	Site    string `json:"site,omitempty"`
	Node    string `json:"node,omitempty"`
	// Listener is "tenant" or "operator": the listener that answered.
	Listener string `json:"listener"`
}

// Enroll is POST /v1/agent/enroll, sent with a join token: the node's
// name and a certificate signing request (PEM) for its key.
type Enroll struct {
	Node string `json:"node"`
	CSR  string `json:"csr"`
}

// Enrolled is the answer to Enroll: the node's certificate, binding its
// name and the join token's site, and the CA that verifies the server.
type Enrolled struct {
	Node        string    `json:"node"`
	Site        string    `json:"site"`
	Certificate string    `json:"certificate"` // PEM
	CA          string    `json:"ca"`          // PEM
	Expires     time.Time `json:"expires"`
}

// SecretValue is PUT /v1/secrets/{name}: a tenant secret, stored sealed
// (envelope encryption) and never returned by the API.
type SecretValue struct {
	Tenant string `json:"tenant,omitempty"` // default: the caller's tenant
	Value  string `json:"value"`
}

// Secret is a secret as listed: its name and when it was set, never its
// value.
type Secret struct {
	Tenant  string    `json:"tenant"`
	Name    string    `json:"name"`
	Updated time.Time `json:"updated"`
}

// SecretList is GET /v1/secrets.
type SecretList struct {
	Secrets []Secret `json:"secrets"`
}
