package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// SubmitJob posts a job spec (a JSON object in the job file's form,
// docs/jobspec.md) to /v1/jobs and returns the job as created.
//
// The Idempotency-Key header carries key (a random one when key is
// empty), so that a submission that failed for want of a connection, or
// whose answer was lost, is sent again with the same key and the server
// returns the job the first attempt created instead of a second one.
func (c *Client) SubmitJob(ctx context.Context, spec []byte, key string) (*api.Job, error) {
	return c.submit(ctx, "/v1/jobs", spec, key)
}

// SubmitDeployment is SubmitJob for a deployment (POST /v1/deployments).
func (c *Client) SubmitDeployment(ctx context.Context, spec []byte, key string) (*api.Job, error) {
	return c.submit(ctx, "/v1/deployments", spec, key)
}

func (c *Client) submit(ctx context.Context, path string, spec []byte, key string) (*api.Job, error) {
	if key == "" {
		key = NewKey()
	}
	r := &request{method: http.MethodPost, path: path, body: spec,
		header: http.Header{api.IdempotencyKeyHeader: {key}}}
	delay := c.backoff
	for attempt := 0; ; attempt++ {
		var j api.Job
		err := c.call(ctx, r, 0, &j)
		if err == nil {
			return &j, nil
		}
		if attempt >= c.retries || !retryable(err) || ctx.Err() != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// retryable reports whether a submission that failed with err may be sent
// again with the same idempotency key: the server was not reached, the
// connection broke, or a proxy or an overloaded server said to retry. A
// server that took it and let the call's time run out is not asked
// again: each try would wait the whole timeout.
func retryable(err error) bool {
	return IsTransient(err) && !errors.Is(err, context.DeadlineExceeded)
}

// NewKey returns a random idempotency key (128 bits, hex).
func NewKey() string {
	return hex.EncodeToString(randBytes(16))
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return b
}

// ListOptions filters a job listing. Empty fields match everything.
type ListOptions struct {
	Tenant        string
	States        []string // any of these states
	PriorityClass string
	Kind          string // job | deployment
	// After is the Next cursor of the previous page.
	After string
	// Limit is the page size (0: the server's default).
	Limit int
}

// query encodes the options as tenant, state (comma-separated),
// priority_class, kind, after and limit.
func (o ListOptions) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("tenant", o.Tenant)
	set("state", strings.Join(o.States, ","))
	set("priority_class", o.PriorityClass)
	set("kind", o.Kind)
	set("after", o.After)
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	return q
}

// ListJobs returns one page of jobs (GET /v1/jobs).
func (c *Client) ListJobs(ctx context.Context, o ListOptions) (*api.JobList, error) {
	return get[api.JobList](ctx, c, "/v1/jobs", o.query())
}

// AllJobs follows ListJobs's pages from o.After to the end; o.Limit is
// the page size.
func (c *Client) AllJobs(ctx context.Context, o ListOptions) ([]api.Job, error) {
	var all []api.Job
	for {
		l, err := c.ListJobs(ctx, o)
		if err != nil {
			return nil, err
		}
		all = append(all, l.Jobs...)
		if l.Next == "" || l.Next == o.After {
			return all, nil
		}
		o.After = l.Next
	}
}

// ListDeployments returns one page of deployments (GET /v1/deployments).
// o.Kind is ignored: the route lists deployments only, and refuses a
// kind parameter.
func (c *Client) ListDeployments(ctx context.Context, o ListOptions) (*api.JobList, error) {
	o.Kind = ""
	return get[api.JobList](ctx, c, "/v1/deployments", o.query())
}

// GetJob returns one job (GET /v1/jobs/{id}).
func (c *Client) GetJob(ctx context.Context, id string) (*api.Job, error) {
	return get[api.Job](ctx, c, "/v1/jobs/"+seg(id), nil)
}

// GetDeployment returns one deployment (GET /v1/deployments/{id}).
func (c *Client) GetDeployment(ctx context.Context, id string) (*api.Job, error) {
	return get[api.Job](ctx, c, "/v1/deployments/"+seg(id), nil)
}

// CancelJob asks the server to cancel a job or deployment (POST
// /v1/jobs/{id}/cancel) and returns the job as the server answered it
// (its ID only when the answer had no body).
func (c *Client) CancelJob(ctx context.Context, id string) (*api.Job, error) {
	j := api.Job{ID: id}
	if err := c.post(ctx, "/v1/jobs/"+seg(id)+"/cancel", nil, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// LogOptions chooses a job's log stream.
type LogOptions struct {
	Replica int
	Stream  string // stdout (default) or stderr
	Follow  bool   // keep the stream open until the replica ends
	Attempt int    // 0: the current (or last) attempt
	// Offset is how many bytes of the output to skip: a follower that
	// lost its connection resumes where it was.
	Offset int64
}

// LogStream is a replica's output.
type LogStream struct {
	io.ReadCloser
	// Dropped is how many bytes of the beginning of the output its node
	// no longer keeps (api.LogDroppedHeader): the stream starts there.
	Dropped int64
}

// Logs returns a replica's output (GET /v1/jobs/{id}/logs). The caller
// closes it; with Follow it ends when the replica does or ctx ends.
func (c *Client) Logs(ctx context.Context, id string, o LogOptions) (*LogStream, error) {
	q := url.Values{"replica": {strconv.Itoa(o.Replica)}}
	if o.Stream != "" {
		q.Set("stream", o.Stream)
	}
	if o.Follow {
		q.Set("follow", "true")
	}
	if o.Attempt > 0 {
		q.Set("attempt", strconv.Itoa(o.Attempt))
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.FormatInt(o.Offset, 10))
	}
	r := &request{method: http.MethodGet, path: "/v1/jobs/" + seg(id) + "/logs", query: q,
		header: http.Header{"Accept": {"text/plain, */*"}}}
	if o.Follow || c.timeout <= 0 {
		// a followed log may wait for output for hours
		resp, err := c.streamResponse(ctx, r)
		if err != nil {
			return nil, err
		}
		return logStream(resp, resp.Body), nil
	}
	// The answer must begin in time; the body (up to what the node
	// keeps) may take longer.
	ctx, cancel := context.WithCancelCause(ctx)
	t := time.AfterFunc(c.timeout+logsStartWait, func() { cancel(context.DeadlineExceeded) })
	resp, err := c.streamResponse(ctx, r)
	t.Stop()
	if err != nil {
		cancel(nil)
		return nil, err
	}
	return logStream(resp, cancelOnClose{resp.Body, func() { cancel(nil) }}), nil
}

// logStream is resp's body rc with the bytes its node dropped.
func logStream(resp *http.Response, rc io.ReadCloser) *LogStream {
	ls := &LogStream{ReadCloser: rc}
	if n, err := strconv.ParseInt(resp.Header.Get(api.LogDroppedHeader), 10, 64); err == nil && n > 0 {
		ls.Dropped = n
	}
	return ls
}

// cancelOnClose is a body whose Close also releases its request's
// context.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// Events returns a job's events after sequence number after (GET
// /v1/jobs/{id}/events).
func (c *Client) Events(ctx context.Context, id string, after int64) (*api.EventList, error) {
	return get[api.EventList](ctx, c, "/v1/jobs/"+seg(id)+"/events", afterQuery(after))
}

// AllEvents returns every event of the server after sequence number after
// (GET /v1/events).
func (c *Client) AllEvents(ctx context.Context, after int64) (*api.EventList, error) {
	return get[api.EventList](ctx, c, "/v1/events", afterQuery(after))
}

func afterQuery(after int64) url.Values {
	if after <= 0 {
		return nil
	}
	return url.Values{"after": {strconv.FormatInt(after, 10)}}
}

// Why says why a job is in its state (GET /v1/jobs/{id}/why).
func (c *Client) Why(ctx context.Context, id string) (*api.Why, error) {
	return get[api.Why](ctx, c, "/v1/jobs/"+seg(id)+"/why", nil)
}

// Checkpoint tells the server that a job saved a checkpoint (POST
// /v1/jobs/{id}/checkpoint): for a running job, the server records the
// time as its last_checkpoint; after a preemption notice, it stops the
// job's replicas at once. It returns the job as the server answered it
// (its ID only when the answer had no body) and the answer's status,
// which says which the server did: http.StatusOK, recorded;
// http.StatusAccepted, acknowledged a stop notice.
func (c *Client) Checkpoint(ctx context.Context, id string, ack api.CheckpointAck) (*api.Job, int, error) {
	j := api.Job{ID: id}
	status, err := c.postStatus(ctx, "/v1/jobs/"+seg(id)+"/checkpoint", ack, &j)
	if err != nil {
		return nil, 0, err
	}
	return &j, status, nil
}

// logsStartWait is how long the server may wait, before it answers a
// log request, for the replica to start (its waitStarted).
var logsStartWait = time.Minute
