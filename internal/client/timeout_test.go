package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTimeoutNamesTheServer: a server that takes the request and never
// answers failed a call with the bare "context deadline exceeded",
// naming neither the server nor what happened. The error names the
// server and says it did not answer in time; it is a *TransportError
// (the request may have been applied) and still a deadline.
func TestTimeoutNamesTheServer(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	c, srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, WithTimeout(50*time.Millisecond))
	_, err := c.ListJobs(context.Background(), ListOptions{})
	if err == nil {
		t.Fatal("no error from a server that never answers")
	}
	want := "the Carnot server at " + srv.URL + " did not answer in time"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got  %s\nwant it to start with %s", err, want)
	}
	var te *TransportError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v (%T): want a *TransportError that is a context.DeadlineExceeded", err, err)
	}
	// the caller's own cancellation stays what it is
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ListJobs(ctx, ListOptions{}); !errors.Is(err, context.Canceled) || errors.As(err, &te) {
		t.Errorf("cancelled call: %v (%T), want context.Canceled alone", err, err)
	}
}
