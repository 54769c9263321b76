// Package group is the group commit both stores' committers share: one
// goroutine takes the write requests waiting and hands them on as one
// batch, which the store runs in one transaction and commits with one
// sync.
//
// The rest of the committer is each store's own, for reasons of the
// database: how a caller hands a request over and waits (SQLite's may be
// stuck behind a write its disk never finishes, stall.go, and the store
// then refuses calls until it ends; PostgreSQL gives a batch up once its
// callers' last deadline passes and the database rolls it back), and how
// a batch runs (SQLite: a savepoint per request on its one writer
// connection; PostgreSQL: every statement pipelined in one round trip
// under the events lock and the leader's fencing check, run again request
// by request when one fails).
package group

// Loop receives requests from reqs until it is closed and drained, and
// calls run with each batch: a request received and then every request
// already waiting, at most max in all. It never waits for more: a request
// alone is a batch. The batch's slice is reused once run returns, which
// must not keep it.
func Loop[R any](reqs <-chan R, max int, run func(batch []R)) {
	batch := make([]R, 0, max)
	for r := range reqs {
		batch = append(batch[:0], r)
	fill:
		for len(batch) < max {
			select {
			case r, ok := <-reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		run(batch)
		clear(batch)
	}
}
