package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
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

// TestLogsWithoutFollowTimesOut: Logs is a stream, sent without the
// client's timeout, so `carnot logs JOB` against a server that took the
// request and never answered waited for ever. Without Follow, the
// answer must begin within the timeout and the server's own wait for a
// replica to start (logsStartWait); the body may then take its time.
// A followed log may wait for output for hours, and is not bounded.
func TestLogsWithoutFollowTimesOut(t *testing.T) {
	defer func(d time.Duration) { logsStartWait = d }(logsStartWait)
	logsStartWait = 50 * time.Millisecond
	release := make(chan struct{})
	defer close(release)
	c, srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("replica") == "1" { // answers at once, then writes slowly
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			time.Sleep(300 * time.Millisecond)
			_, _ = w.Write([]byte("late\n"))
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, WithTimeout(50*time.Millisecond))
	done := make(chan error, 1)
	go func() {
		_, err := c.Logs(context.Background(), "j1", LogOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		want := "the Carnot server at " + srv.URL + " did not answer in time"
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("got %v\nwant it to start with %s", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Logs without Follow still waits after 5s for a server that never answers")
	}
	rc, err := c.Logs(context.Background(), "j1", LogOptions{Replica: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, err := io.ReadAll(rc); err != nil || string(b) != "late\n" {
		t.Errorf("a body slower than the timeout: %q, %v", b, err)
	}
}

// TestBrokenConnectionSaysSo: a server that closed the connection
// without answering failed a call with the Go error chain
// `the Carnot server at URL: Get "URL/v1/jobs": EOF`, quoting the
// request. It says what happened, once naming the server.
func TestBrokenConnectionSaysSo(t *testing.T) {
	c, srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	})
	_, err := c.ListJobs(context.Background(), ListOptions{})
	want := "the Carnot server at " + srv.URL + " closed the connection before its answer was complete (it may have stopped or restarted)"
	var te *TransportError
	if err == nil || err.Error() != want || !errors.As(err, &te) {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

// TestSubmitNotRetriedAfterTimeout: once a timeout is a TransportError
// (TestTimeoutNamesTheServer), a submission to a server that takes it
// and never answers must not be sent again: each try would wait the
// whole timeout again (minutes with the default 30 s and 4 retries), as
// it did not when a timeout was a bare context error.
func TestSubmitNotRetriedAfterTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var mu sync.Mutex
	n := 0
	c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, WithTimeout(50*time.Millisecond), WithSubmitRetries(4, time.Millisecond))
	if _, err := c.SubmitJob(context.Background(), []byte(`{}`), "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want a timeout", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 1 {
		t.Errorf("%d submissions sent, want 1", n)
	}
}
