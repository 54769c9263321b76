package store

import (
	"context"
	"errors"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
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
	Holder  string // the holding process: its replica's name and instance ID
	Address string // the holder's operator API
	Epoch   int64
	Valid   bool // not expired
}

// Fenced returns s with every write made under the fencing token epoch
// (WithFence): the writes of a leader that was deposed fail instead of
// landing after its successor's.
func Fenced(s Store, epoch int64) Store { return fenced{s, epoch} }

type fenced struct {
	Store
	epoch int64
}

func (f fenced) CreateJob(ctx context.Context, j *api.Job, key string, ev *api.Event) (string, bool, error) {
	return f.Store.CreateJob(WithFence(ctx, f.epoch), j, key, ev)
}

func (f fenced) Update(ctx context.Context, jobs []*api.Job, events []api.Event, nodes ...*api.Node) error {
	return f.Store.Update(WithFence(ctx, f.epoch), jobs, events, nodes...)
}

func (f fenced) SaveFairShare(ctx context.Context, u []model.Usage) error {
	return f.Store.SaveFairShare(WithFence(ctx, f.epoch), u)
}

func (f fenced) PutNode(ctx context.Context, n *api.Node) error {
	return f.Store.PutNode(WithFence(ctx, f.epoch), n)
}

func (f fenced) ForgetNodes(ctx context.Context, names []string, events []api.Event) error {
	return f.Store.ForgetNodes(WithFence(ctx, f.epoch), names, events)
}

func (f fenced) PutRecords(ctx context.Context, recs []Record, events []api.Event) error {
	return f.Store.PutRecords(WithFence(ctx, f.epoch), recs, events)
}
