package client

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/carnot-dc/carnot/internal/api"
)

// UnreachableError says that no server address accepted a connection.
// Unwrap gives the last address's cause (errors.Is(err,
// syscall.ECONNREFUSED) works).
type UnreachableError struct {
	Causes []addrError
	Env    string // the variable that sets the address; "" for CARNOT_ADDR
}

type addrError struct {
	addr string
	err  error
}

// Error says which servers could not be reached, why, and what to do.
func (e *UnreachableError) Error() string {
	env := e.Env
	if env == "" {
		env = "CARNOT_ADDR"
	}
	return e.Brief() + ` (start one with "carnot dev", or point --server / ` + env + ` at one)`
}

// Brief says which servers could not be reached and why, without advice:
// for a client that reached the server before and tries again.
func (e *UnreachableError) Brief() string {
	switch len(e.Causes) {
	case 0:
		return "cannot reach the Carnot server"
	case 1:
		c := e.Causes[0]
		return "cannot reach the Carnot server at " + c.addr + ": " + dialCause(c.err)
	}
	parts := make([]string, len(e.Causes))
	for i, c := range e.Causes {
		parts[i] = c.addr + ": " + dialCause(c.err)
	}
	return "cannot reach any Carnot server (" + strings.Join(parts, "; ") + ")"
}

// Unwrap returns the last cause.
func (e *UnreachableError) Unwrap() error {
	if len(e.Causes) == 0 {
		return nil
	}
	return e.Causes[len(e.Causes)-1].err
}

// TransportError is a failure after the connection was made: the server
// closed it, reset it or stopped answering. The request may have been
// applied.
type TransportError struct {
	Addr string
	Err  error
}

func (e *TransportError) Error() string {
	var ua x509.UnknownAuthorityError
	if errors.As(e.Err, &ua) {
		return fmt.Sprintf("the Carnot server at %s: its TLS certificate is not signed by a CA this client trusts; "+
			"give the server's CA certificate with --ca or CARNOT_CA (carnot dev's is DATA-DIR/tls/ca.crt)", e.Addr)
	}
	var ne net.Error
	if errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &ne) && ne.Timeout()) {
		why := ""
		if ue := (*url.Error)(nil); errors.As(e.Err, &ue) && !errors.Is(ue.Err, context.DeadlineExceeded) {
			why = " (" + strings.TrimPrefix(ue.Err.Error(), "net/http: ") + ")"
		}
		return fmt.Sprintf("the Carnot server at %s did not answer in time%s: it may be stopped, overloaded or stuck "+
			"(its log and /readyz say more); try again later", e.Addr, why)
	}
	cause := e.Err
	if ue := (*url.Error)(nil); errors.As(cause, &ue) {
		cause = ue.Err // not the request again: its address is said
	}
	if errors.Is(cause, io.EOF) || errors.Is(cause, io.ErrUnexpectedEOF) || errors.Is(cause, syscall.ECONNRESET) {
		return fmt.Sprintf("the Carnot server at %s closed the connection before its answer was complete (it may have stopped or restarted)", e.Addr)
	}
	return fmt.Sprintf("the Carnot server at %s: %v", e.Addr, cause)
}

func (e *TransportError) Unwrap() error { return e.Err }

// isDialError reports whether err happened before the request could reach
// a server: the connection was refused, timed out or the name did not
// resolve. Such a request is safe to send to another address.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// dialCause is a short, human form of a connection failure.
func dialCause(err error) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "no such host " + dns.Name
		}
		return dns.Error()
	case errors.As(err, &ne) && ne.Timeout():
		return "connection timed out"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// IsTransient reports whether err may pass if the request is sent again
// later: the server was not reached, the connection broke, or a proxy or
// a server that is starting or failing over said to retry (502, 503,
// 504).
func IsTransient(err error) bool {
	var u *UnreachableError
	var t *TransportError
	if errors.As(err, &u) || errors.As(err, &t) {
		return true
	}
	switch StatusOf(err) {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// IsNotFound reports whether err is the server's 404: no such job, node
// or route.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsConflict reports whether err is the server's 409, e.g. a job ID
// already used.
func IsConflict(err error) bool { return StatusOf(err) == http.StatusConflict }

// StatusOf is the HTTP status of a problem the server answered with, 0
// when err is not one.
func StatusOf(err error) int {
	var p *api.Problem
	if errors.As(err, &p) {
		return p.Status
	}
	return 0
}

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 1 << 20

// checkStatus returns nil for a successful answer, else the *api.Problem
// it carries: the server's own problem document when it sent one, else one
// made from the status and the start of the body (a proxy's error page).
func checkStatus(resp *http.Response) error {
	if resp.StatusCode < 400 {
		return nil
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "application/problem+json" || ct == "application/json" || strings.HasSuffix(ct, "+json") {
		var p api.Problem
		if json.Unmarshal(data, &p) == nil && (p.Status != 0 || p.Title != "" || p.Detail != "" || len(p.Errors) > 0) {
			if p.Status == 0 {
				p.Status = resp.StatusCode
			}
			if p.Title == "" {
				p.Title = http.StatusText(resp.StatusCode)
			}
			return &p
		}
	}
	detail := fmt.Sprintf("the server at %s answered %s", origin(resp), resp.Status)
	if s := snippet(data); s != "" {
		detail += ": " + s
	}
	return &api.Problem{Type: "about:blank", Title: http.StatusText(resp.StatusCode), Status: resp.StatusCode, Detail: detail}
}

// snippet is the first line of a body, cut to 200 bytes, when it is text.
func snippet(b []byte) string {
	if !utf8.Valid(b) {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}
