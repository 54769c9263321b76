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
