// Package client is the Go client of Carnot's HTTP API (internal/api): the
// CLI's remote commands and the node agent talk to the server through it.
//
// A Client holds one or more server addresses. A call goes to the address
// that answered last; when it cannot connect there it tries the next, so
// that agents and the CLI can be given every server of a deployment.
// Errors the server answers with are *api.Problem values (errors.As); a
// server that cannot be reached at all gives an *UnreachableError whose
// message says how to start or point at one.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// DefaultAddr is where `carnot dev` and `carnot server` serve the tenant
// API unless told otherwise, and DefaultAdminAddr the operator API.
const (
	DefaultAddr      = "https://127.0.0.1:7460"
	DefaultAdminAddr = "https://127.0.0.1:7461"
)

// Client calls one Carnot server, or the first reachable of several. It is
// safe for concurrent use.
type Client struct {
	addrs   []string // base URLs without a trailing slash
	hc      *http.Client
	timeout time.Duration
	retries int           // SubmitJob's attempts after the first
	backoff time.Duration // SubmitJob's first retry delay, doubled each time
	agent   string        // User-Agent
	token   string        // bearer token, if any
	addrEnv string        // what sets the address, named when no server answers

	mu   sync.Mutex
	next int // index of the address to try first
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc. hc should
// have no Timeout: log streams and watches last as long as their context.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each call that is not a stream (default 30s). An
// Assignments call waits its long-poll wait on top of it.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithSubmitRetries sets how many times SubmitJob and SubmitDeployment
// retry a submission that failed for want of a connection (default 4),
// and the delay before the first retry (default 250ms, doubled each time).
func WithSubmitRetries(n int, backoff time.Duration) Option {
	return func(c *Client) { c.retries, c.backoff = n, backoff }
}

// WithToken makes every request carry the API token tok (Authorization:
// Bearer).
func WithToken(tok string) Option { return func(c *Client) { c.token = tok } }

// WithTLS makes the client's connections use cfg (the CA to trust, and a
// client certificate for node agents).
func WithTLS(cfg *tls.Config) Option {
	return func(c *Client) {
		t := defaultTransport().(*http.Transport)
		t.TLSClientConfig = cfg
		c.hc = &http.Client{Transport: newConns(t)}
	}
}

// WithTransport makes the client's requests go through t (its TLS
// configuration, dialer and limits), which Reconnect leaves for a clone
// of it, as it does WithTLS's: the client owns t from then.
func WithTransport(t *http.Transport) Option {
	return func(c *Client) { c.hc = &http.Client{Transport: newConns(t)} }
}

// WithAddrEnv names the environment variable that sets the address
// (default CARNOT_ADDR), for the error when no server answers.
func WithAddrEnv(name string) Option { return func(c *Client) { c.addrEnv = name } }

// WithUserAgent sets the User-Agent header, e.g. "carnot-agent/v1.2".
func WithUserAgent(ua string) Option { return func(c *Client) { c.agent = ua } }

// New returns a client of the server at addr: a base URL
// (http://host:port, https://…), a bare host:port, or a comma-separated
// list of either, tried in order. An empty addr means DefaultAddr.
func New(addr string, opts ...Option) (*Client, error) {
	addrs, err := ParseAddrs(addr)
	if err != nil {
		return nil, err
	}
	c := &Client{
		addrs:   addrs,
		hc:      &http.Client{Transport: defaultTransport()},
		timeout: 30 * time.Second,
		retries: 4,
		backoff: 250 * time.Millisecond,
		agent:   "carnot-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// defaultTransport is http.DefaultTransport with a short dial timeout, so
// that failing over from a dead address takes seconds, not half a minute.
func defaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// ParseAddrs splits and normalises a comma-separated list of server
// addresses into base URLs.
func ParseAddrs(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return []string{DefaultAddr}, nil
	}
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if !strings.Contains(a, "://") {
			if strings.HasPrefix(a, ":") {
				a = "127.0.0.1" + a
			}
			a = "https://" + a
		}
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("server address %q: want http://host:port, https://host:port or host:port", a)
		}
		if p := strings.TrimRight(u.Path, "/"); p == "/v1" || strings.HasSuffix(p, "/v1") {
			// the API's own path: every call would go to /v1/v1/…
			return nil, fmt.Errorf("server address %q: give the server's address without /v1 (%s)", a, u.Scheme+"://"+u.Host+strings.TrimSuffix(p, "/v1"))
		}
		out = append(out, strings.TrimRight(a, "/"))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("server address %q: no address given", s)
	}
	return out, nil
}

// Addrs returns the client's server addresses as base URLs.
func (c *Client) Addrs() []string { return append([]string(nil), c.addrs...) }

// request is one call: a method, a path with its query, an optional JSON
// body (kept as bytes so that it can be sent again to another address)
// and headers.
type request struct {
	method string
	path   string
	query  url.Values
	body   []byte
	header http.Header
}

// send sends r to the first address that accepts a connection, starting
// from the one that answered last, and returns the response whatever its
// status. Only connection failures, and standby replicas (which answer
// 503 with api.StandbyHeader without acting on the request), move on to
// the next address: once a request may have reached a server that acts on
// it, it is not sent again.
func (c *Client) send(ctx context.Context, r *request) (*http.Response, error) {
	if err := checkSegments(r.path); err != nil {
		return nil, err
	}
	c.mu.Lock()
	first := c.next
	c.mu.Unlock()
	var causes []addrError
	var standby *http.Response
	for i := range c.addrs {
		k := (first + i) % len(c.addrs)
		resp, err := c.sendTo(ctx, c.addrs[k], r)
		if err == nil && resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get(api.StandbyHeader) != "" && i < len(c.addrs)-1 {
			if standby != nil {
				standby.Body.Close()
			}
			standby = resp
			continue
		}
		if err == nil {
			if standby != nil {
				standby.Body.Close()
			}
			c.mu.Lock()
			c.next = k
			c.mu.Unlock()
			return resp, nil
		}
		if cause := context.Cause(ctx); ctx.Err() != nil && errors.Is(cause, context.DeadlineExceeded) {
			// this server took the request and did not answer in time
			return nil, &TransportError{Addr: c.addrs[k], Err: cause}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !isDialError(err) {
			return nil, &TransportError{Addr: c.addrs[k], Err: err}
		}
		causes = append(causes, addrError{c.addrs[k], err})
	}
	if standby != nil {
		return standby, nil
	}
	return nil, &UnreachableError{Causes: causes, Env: c.addrEnv}
}

func (c *Client) sendTo(ctx context.Context, base string, r *request) (*http.Response, error) {
	u := base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", c.agent)
	if c.token != "" {
		if req.URL.Scheme != "https" && !loopback(req.URL.Hostname()) {
			// Anyone on the path would read the token.
			return nil, fmt.Errorf("%w to %s: the token would cross the network in clear text; use https:// (the server serves TLS only)", ErrPlainHTTP, req.URL.Host)
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		// Go's client follows a redirect to the same host with the
		// header: not to plain HTTP.
		hc := *c.hc
		hc.CheckRedirect = noPlainRedirect(c.hc.CheckRedirect)
		return hc.Do(req)
	}
	return c.hc.Do(req)
}

// noPlainRedirect refuses a redirect to plain HTTP on another host than
// this one, where a followed redirect would send the token in clear
// text; other redirects are next's to decide (Go's default without it).
func noPlainRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" && !loopback(req.URL.Hostname()) {
			return fmt.Errorf("%w to %s: a redirect there would take the token in clear text", ErrPlainHTTP, req.URL.Host)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// loopback reports whether host, a URL's host name, is this machine:
// localhost or a loopback address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// call sends r with the client's timeout (plus extra) and decodes a
// successful answer's JSON body into out (nil: the body is dropped).
func (c *Client) call(ctx context.Context, r *request, extra time.Duration, out any) error {
	_, err := c.callStatus(ctx, r, extra, out)
	return err
}

// callStatus is call that also returns the status of a successful
// answer, for a route whose 2xx statuses say different things (0 with
// an error).
func (c *Client) callStatus(ctx context.Context, r *request, extra time.Duration, out any) (int, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout+extra)
		defer cancel()
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if err := checkStatus(resp); err != nil {
		return 0, err
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, &TransportError{Addr: origin(resp), Err: err}
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return 0, fmt.Errorf("%s %s: cannot decode the server's answer: %w", r.method, r.path, err)
	}
	return resp.StatusCode, nil
}

// stream sends r without the client's timeout and returns the body of a
// successful answer for the caller to read and close.
func (c *Client) stream(ctx context.Context, r *request) (io.ReadCloser, error) {
	resp, err := c.streamResponse(ctx, r)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// streamResponse is stream with the response's header.
func (c *Client) streamResponse(ctx context.Context, r *request) (*http.Response, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := checkStatus(resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// get is a GET without a body whose answer decodes into a T.
func get[T any](ctx context.Context, c *Client, path string, q url.Values) (*T, error) {
	var v T
	if err := c.call(ctx, &request{method: http.MethodGet, path: path, query: q}, 0, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// post is call for a POST of in (nil: no body) as JSON.
func (c *Client) post(ctx context.Context, path string, in, out any) error {
	_, err := c.postStatus(ctx, path, in, out)
	return err
}

// postStatus is post that also returns the answer's status (callStatus).
func (c *Client) postStatus(ctx context.Context, path string, in, out any) (int, error) {
	r := &request{method: http.MethodPost, path: path}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("POST %s: %w", path, err)
		}
		r.body = b
	}
	return c.callStatus(ctx, r, 0, out)
}

// origin is the base URL a response came from, for messages.
func origin(resp *http.Response) string {
	if resp.Request == nil || resp.Request.URL == nil {
		return ""
	}
	u := *resp.Request.URL
	return u.Scheme + "://" + u.Host
}

// seg escapes one path segment (a job ID or node name).
func seg(s string) string { return url.PathEscape(s) }

// checkSegments refuses a path with an empty, "." or ".." segment: an ID
// or name given as "", "." or "..". The server's router would clean such
// a path and redirect to another route (GET /v1/jobs/. to the job
// list), which the client would follow and decode as the wrong thing.
// No ID or name of the API is one of these.
func checkSegments(path string) error {
	for _, s := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if s == "" || s == "." || s == ".." {
			return fmt.Errorf("%s: an ID or name must not be empty, \".\" or \"..\"", path)
		}
	}
	return nil
}

// ErrPlainHTTP is the error of a call that would send the client's token
// over plain HTTP to another host than this one: the client refuses.
var ErrPlainHTTP = errors.New("refusing to send credentials over plain HTTP")

// Reconnect makes the client's later requests use new connections, for
// a client certificate that changed (a node's renewed certificate): the
// idle ones are closed at once, those in use once their request is done
// (an agent's long poll holds one for its wait). With WithHTTPClient
// only the idle ones are closed.
func (c *Client) Reconnect() {
	if f, ok := c.hc.Transport.(*conns); ok {
		f.renew()
		return
	}
	c.hc.CloseIdleConnections()
}

// CloseIdleConnections closes the client's idle connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// conns is a transport whose connections renew leaves: closing the
// idle ones is not enough, since a connection in use then (a long poll)
// goes back to the pool when its request is done, and the next request
// would take it, with the client certificate of its handshake.
type conns struct {
	cur atomic.Pointer[http.Transport]
}

func newConns(t *http.Transport) *conns {
	c := &conns{}
	c.cur.Store(t)
	return c
}

func (c *conns) RoundTrip(r *http.Request) (*http.Response, error) { return c.cur.Load().RoundTrip(r) }

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport in use.
func (c *conns) CloseIdleConnections() { c.cur.Load().CloseIdleConnections() }

// renew moves later requests to a fresh transport of the same settings
// and closes the previous one's connections: the idle ones now, the
// others as their requests end (no new request goes to it, so none
// takes them, and net/http closes a connection that becomes idle after
// CloseIdleConnections until the transport is used again).
func (c *conns) renew() {
	old := c.cur.Swap(c.cur.Load().Clone())
	old.CloseIdleConnections()
}
