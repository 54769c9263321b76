package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carnot-dc/carnot/internal/store"
)

// Campaign takes or renews the leader lease for holder, valid for ttl,
// and returns the lease: it is holder's when lease.Holder == holder.
// Taking the lease from another holder (whose lease expired) increments
// the epoch; renewing keeps it. A holder must name one process (a
// replica's name and its instance ID, see cli): two processes campaigning
// as one holder renew each other's lease and share its epoch, which
// fencing cannot tell apart.
func (db *DB) Campaign(ctx context.Context, holder, address string, ttl time.Duration) (store.Lease, error) {
	const op = "campaign"
	leave, err := db.enter(op)
	if err != nil {
		return store.Lease{}, err
	}
	defer leave()
	var l store.Lease
	err = db.pool.QueryRow(ctx, `UPDATE leader SET
			epoch = CASE WHEN holder = $1 AND expires > now() THEN epoch ELSE epoch + 1 END,
			holder = $1, address = $2, expires = now() + $3::interval
		WHERE id = 1 AND (holder = $1 OR expires <= now())
		RETURNING holder, address, epoch`, holder, address, fmt.Sprintf("%d milliseconds", ttl.Milliseconds())).
		Scan(&l.Holder, &l.Address, &l.Epoch)
	if err == nil {
		l.Valid = true
		return l, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.Lease{}, fmt.Errorf("%s: %w", op, err)
	}
	if testHookCampaignLost != nil {
		testHookCampaignLost()
	}
	// Read under the call's own entry: entering again would wait behind
	// a Close that waits for this call, for ever.
	return db.lease(ctx)
}

// testHookCampaignLost, when set by a test, runs when a campaign finds
// the lease held by another, before it reads the lease.
var testHookCampaignLost func()

// Lease reads the lease as it is.
func (db *DB) Lease(ctx context.Context) (store.Lease, error) {
	leave, err := db.enter("read the lease")
	if err != nil {
		return store.Lease{}, err
	}
	defer leave()
	return db.lease(ctx)
}

// lease is Lease for a caller that has entered.
func (db *DB) lease(ctx context.Context) (store.Lease, error) {
	var l store.Lease
	err := db.pool.QueryRow(ctx, `SELECT holder, address, epoch, expires > now() FROM leader WHERE id = 1`).
		Scan(&l.Holder, &l.Address, &l.Epoch, &l.Valid)
	if err != nil {
		return store.Lease{}, fmt.Errorf("read the lease: %w", err)
	}
	return l, nil
}

// Resign gives the lease up if holder has it, so that another replica
// takes over at once instead of after the lease expires.
func (db *DB) Resign(ctx context.Context, holder string) error {
	leave, err := db.enter("resign")
	if err != nil {
		return err
	}
	defer leave()
	_, err = db.pool.Exec(ctx, `UPDATE leader SET expires = '-infinity' WHERE id = 1 AND holder = $1`, holder)
	return err
}

// selectEpoch reads the leader epoch and locks the lease row until the
// transaction ends, so that no replica can take the lease (a new epoch)
// between the check and the commit.
const selectEpoch = "SELECT epoch FROM leader WHERE id = 1 FOR SHARE"

// checkFence fails with store.ErrFenced unless epoch is the leader
// epoch, which it reads with selectEpoch.
func checkFence(ctx context.Context, q querier, epoch int64) error {
	var cur int64
	if err := q.QueryRow(ctx, selectEpoch).Scan(&cur); err != nil {
		return fmt.Errorf("check the leader epoch: %w", err)
	}
	return fenceError(epoch, cur)
}

// fenceError is store.ErrFenced unless epoch, a write's fencing token, is
// cur, the leader epoch.
func fenceError(epoch, cur int64) error {
	if cur != epoch {
		return fmt.Errorf("%w (epoch %d, the leader's is %d)", store.ErrFenced, epoch, cur)
	}
	return nil
}
