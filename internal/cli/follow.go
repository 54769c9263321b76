package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// Reconnection backoff of the followers (run -f, logs -f, events -f):
// the first wait, doubled after each failure up to the last.
var (
	retryFirst = time.Second
	retryMax   = 30 * time.Second
)

// backoff is the wait before the next try: retryFirst after a success,
// doubling up to retryMax while tries fail.
type backoff struct{ next time.Duration }

// wait says on errw why and for how long, then sleeps, until ctx is done.
func (b *backoff) wait(ctx context.Context, errw io.Writer, what string, err error) error {
	if b.next == 0 {
		b.next = retryFirst
	}
	fmt.Fprintf(errw, "carnot: %s: %s; reconnecting in %s\n", what, retryCause(err), b.next)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(b.next):
	}
	b.next = min(2*b.next, retryMax)
	return nil
}

func (b *backoff) reset() { b.next = 0 }

// retryCause is err as a client that reached the server before and
// tries again says it: no advice to start a server.
func retryCause(err error) string {
	var u *client.UnreachableError
	if errors.As(err, &u) {
		return u.Brief() + " (is the server running?)"
	}
	return err.Error()
}

// brokenStream is a stream that ended other than by its end: the
// connection broke (the server restarted, a proxy cut it).
type brokenStream struct{ err error }

func (e brokenStream) Error() string { return "the stream broke: " + e.err.Error() }
func (e brokenStream) Unwrap() error { return e.err }

// retryable reports whether a follower should reconnect after err.
func retryable(err error) bool {
	var b brokenStream
	return errors.As(err, &b) || client.IsTransient(err)
}

// getJob reads a job, waiting out a server that cannot be reached or is
// not ready (a restart, a failover) and saying so on errw.
func getJob(ctx context.Context, c *client.Client, id string, errw io.Writer) (*api.Job, error) {
	var b backoff
	for {
		j, err := c.GetJob(ctx, id)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return j, err
		}
		if err := b.wait(ctx, errw, "job "+id, err); err != nil {
			return nil, err
		}
	}
}

// logFollower copies one replica's output of one attempt of a job to
// out, reconnecting from where it was whenever the connection breaks or
// the server ends the stream while the replica runs on.
type logFollower struct {
	c    *client.Client
	id   string
	lo   client.LogOptions // Replica, Stream and Attempt; Offset is pos's
	out  *posWriter
	errw io.Writer
	// reconnect: a connection that cannot be made or breaks is tried
	// again (else it is an error).
	reconnect bool
}

func newLogFollower(c *client.Client, id string, lo client.LogOptions, out, errw io.Writer) *logFollower {
	return &logFollower{c: c, id: id, lo: lo, out: &posWriter{w: out}, errw: errw, reconnect: true}
}

// copy copies what is there of the output (follow false), or follows it
// until the replica ends (follow true). It returns nil once the output
// is all printed; a problem the server answered with other than a
// transient one ends it.
func (f *logFollower) copy(ctx context.Context, follow bool) error {
	var b backoff
	for {
		n, err := f.once(ctx, follow)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && (!f.reconnect || !retryable(err)) {
			return err
		}
		if err != nil {
			if err := b.wait(ctx, f.errw, "the output of "+f.id, err); err != nil {
				return err
			}
			continue
		}
		b.reset()
		if !follow {
			return nil
		}
		// The stream ended: the replica did, or the server (a restart).
		ended, err := f.replicaEnded(ctx)
		if err != nil {
			return err
		}
		if ended {
			follow = false // what the replica wrote while no stream was open
			continue
		}
		if n == 0 { // the server has not heard of the replica's end yet
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pollInterval):
			}
		}
	}
}

// once opens the stream at the position reached and copies it.
func (f *logFollower) once(ctx context.Context, follow bool) (int64, error) {
	lo := f.lo
	lo.Follow, lo.Offset = follow, f.out.pos
	rc, err := f.c.Logs(ctx, f.id, lo)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	if rc.Dropped > f.out.pos {
		if f.out.pos == 0 {
			fmt.Fprintf(f.errw, "carnot: the first %d bytes of this output are no longer kept on its node (--task-log-max-mib); what follows is the end\n", rc.Dropped)
		} else {
			fmt.Fprintf(f.errw, "carnot: bytes %d to %d of this output were dropped by log rotation (--task-log-max-mib) while reconnecting; the output goes on at byte %d\n",
				f.out.pos, rc.Dropped, rc.Dropped)
		}
		f.out.pos = rc.Dropped
	}
	n, err := io.Copy(f.out, rc)
	if err != nil && f.out.err == nil && ctx.Err() == nil {
		return n, brokenStream{err}
	}
	if f.out.err != nil {
		return n, f.out.err
	}
	return n, nil
}

// replicaEnded reports whether the followed replica has ended, as the
// server knows: its job is final, is in another attempt, or says the
// replica is no longer running.
func (f *logFollower) replicaEnded(ctx context.Context) (bool, error) {
	j, err := getJob(ctx, f.c, f.id, f.errw)
	if err != nil {
		return false, err
	}
	if api.Final(j.State) || (f.lo.Attempt > 0 && j.Attempt != f.lo.Attempt) {
		return true, nil
	}
	// By its index: a running deployment's record drops its earliest
	// replaced replicas (api.MaxReplacedReplicas), one gone has ended.
	k := slices.IndexFunc(j.Replicas, func(r api.Replica) bool { return r.Index == f.lo.Replica })
	if k < 0 {
		return true, nil
	}
	st := j.Replicas[k].State
	return st != api.ReplicaAssigned && st != api.ReplicaRunning, nil
}

// posWriter passes a replica's output on and keeps its position in the
// whole output: the bytes passed, less the gap lines (api.GapLine) the
// node agent puts where log rotation dropped bytes, which set it.
type posWriter struct {
	w    io.Writer
	pos  int64
	line []byte // the start of the current line
	err  error  // the first write error: out is gone
}

func (p *posWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if err != nil && p.err == nil {
		p.err = err
	}
	for _, c := range b[:n] {
		p.pos++
		if len(p.line) <= api.MaxGapLine {
			p.line = append(p.line, c)
		}
		if c != '\n' {
			continue
		}
		if at, ok := api.ParseGapLine(p.line); ok {
			p.pos = at
		}
		p.line = p.line[:0]
	}
	return n, err
}
