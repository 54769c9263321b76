package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder is a transport that records the requests it is given and
// answers each 200 with an empty JSON object.
type recorder struct {
	mu   sync.Mutex
	seen []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req)
	r.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: http.NoBody, Request: req}, nil
}

// TestTokensNeverGoInClearOverTheNetwork: a server address may be given
// as http:// (a loopback test server, a proxy on the same host), but a
// token sent that way to another host crosses the network in clear text,
// where anyone on the path reads it. The client refuses to send it;
// without a token, or to a loopback address, plain HTTP still works.
func TestTokensNeverGoInClearOverTheNetwork(t *testing.T) {
	const tok = "carnot_0123456789abcdef_secret"
	for _, c := range []struct {
		addr  string
		token string
		sent  bool
	}{
		{"http://10.0.0.1:7460", tok, false},
		{"http://carnot.example:7460", tok, false},
		{"http://[2001:db8::1]:7460", tok, false},
		{"https://10.0.0.1:7460", tok, true},
		{"http://127.0.0.1:7460", tok, true},
		{"http://[::1]:7460", tok, true},
		{"http://localhost:7460", tok, true},
		{"http://10.0.0.1:7460", "", true},
	} {
		rec := &recorder{}
		opts := []Option{WithHTTPClient(&http.Client{Transport: rec})}
		if c.token != "" {
			opts = append(opts, WithToken(c.token))
		}
		cl, err := New(c.addr, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.WhoAmI(context.Background())
		for _, req := range rec.seen {
			if got := req.Header.Get("Authorization"); strings.Contains(got, tok) && req.URL.Scheme == "http" && !c.sent {
				t.Errorf("%s: the token went out in clear text: %s", c.addr, got)
			}
		}
		switch {
		case c.sent && err != nil:
			t.Errorf("%s (token %t): %v, want the call made", c.addr, c.token != "", err)
		case !c.sent && (err == nil || !errors.Is(err, ErrPlainHTTP)):
			t.Errorf("%s: %v, want %v", c.addr, err, ErrPlainHTTP)
		}
	}
}

// redirector is a transport that answers requests to https:// with a
// redirect to the same path over plain HTTP on the same host, and
// records every request.
type redirector struct{ recorder }

func (r *redirector) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return r.recorder.RoundTrip(req)
	}
	r.mu.Lock()
	r.seen = append(r.seen, req)
	r.mu.Unlock()
	to := "http://" + req.URL.Hostname() + req.URL.Path
	return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {to}},
		Body: http.NoBody, Request: req}, nil
}

// Nor does a redirect take a token to plain HTTP: a server address given
// as https:// that answers with a redirect to http:// on the same host
// (which Go's client follows, Authorization header included) makes the
// call fail with ErrPlainHTTP, the token unsent; to a loopback address it
// is followed.
func TestRedirectsNeverTakeTokensToPlainHTTP(t *testing.T) {
	const tok = "carnot_0123456789abcdef_secret"
	for _, c := range []struct {
		addr string
		sent bool
	}{
		{"https://carnot.example:7460", false},
		{"https://10.0.0.1:7460", false},
		{"https://127.0.0.1:7460", true},
	} {
		rec := &redirector{}
		cl, err := New(c.addr, WithHTTPClient(&http.Client{Transport: rec}), WithToken(tok))
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.WhoAmI(context.Background())
		for _, req := range rec.seen {
			if got := req.Header.Get("Authorization"); strings.Contains(got, tok) && req.URL.Scheme == "http" && !c.sent {
				t.Errorf("%s: the token went out in clear text after a redirect to %s", c.addr, req.URL)
			}
		}
		switch {
		case c.sent && err != nil:
			t.Errorf("%s: %v, want the redirect followed", c.addr, err)
		case !c.sent && !errors.Is(err, ErrPlainHTTP):
			t.Errorf("%s: %v, want %v", c.addr, err, ErrPlainHTTP)
		}
	}
}
