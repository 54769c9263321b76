package api

import (
	"fmt"
	"strings"
)

// ProblemType is the base of the problem type URIs (RFC 9457 §3.1.1: an
// identifier, not a page to fetch).
const ProblemType = "urn:carnot:problem:"

// ProblemNodeRevoked is the Type of the 401 the server answers a node
// agent whose certificates an operator-admin revoked (carnot
// revoke-node): no request of the node's passes until it enrolls again
// with a join token, which takes carnot reenroll-node first. Other
// refusals of a node's certificate (expired, replaced by an enrollment)
// have the Type of any 401.
const ProblemNodeRevoked = ProblemType + "node-revoked"

// Problem is an RFC 9457 problem document, served as
// application/problem+json. Errors lists field errors of a request body.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// FieldError names a field of the request and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error formats the problem for a terminal: the detail and each field.
func (p *Problem) Error() string {
	var b strings.Builder
	if p.Detail != "" {
		b.WriteString(p.Detail)
	} else {
		fmt.Fprintf(&b, "%s (%d)", p.Title, p.Status)
	}
	for _, e := range p.Errors {
		if e.Field == "" { // of the body as a whole
			fmt.Fprintf(&b, "\n  %s", e.Message)
			continue
		}
		fmt.Fprintf(&b, "\n  %s: %s", e.Field, e.Message)
	}
	return b.String()
}
