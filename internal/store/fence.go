package store

import (
	"context"
	"errors"
)

// ErrFenced is returned for a write whose fencing token is not the
// current leader epoch: the replica that made it is no longer the leader,
// and the write was not applied.
var ErrFenced = errors.New("fenced: this replica is no longer the leader")

type fenceKey struct{}

// WithFence makes the writes made with ctx conditional on epoch being the
// current leader epoch (a backend with leases checks it in the write's
// own transaction; others ignore it).
func WithFence(ctx context.Context, epoch int64) context.Context {
	return context.WithValue(ctx, fenceKey{}, epoch)
}

// FenceOf is the fencing token of ctx, if any.
func FenceOf(ctx context.Context) (int64, bool) {
	e, ok := ctx.Value(fenceKey{}).(int64)
	return e, ok
}

// Lease is who holds the leadership.
type Lease struct {
	Holder  string
	Address string // the holder's operator API
	Epoch   int64
	Valid   bool // not expired
}
