package rows

import (
	"fmt"
	"strconv"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
)

// The readers below turn the rows of a query into the values the Store
// interface returns. Each backend runs the query in its own dialect and
// driver (database/sql, pgx), closes the rows and names the operation in
// errors; what the rows mean is the same in both, and lives here.

// Jobs are jobs read in seq order, and the seq of each.
type Jobs struct {
	Jobs []*api.Job
	Seqs []int64
}

// ScanJobs reads rows of seq, doc and spec.
func ScanJobs(r Scanner) (Jobs, error) {
	js := Jobs{Jobs: []*api.Job{}}
	for r.Next() {
		var seq int64
		var doc, spec []byte
		if err := r.Scan(&seq, &doc, &spec); err != nil {
			return Jobs{}, err
		}
		j, err := DecodeJob(doc, spec)
		if err != nil {
			return Jobs{}, fmt.Errorf("job at seq %d: %w", seq, err)
		}
		js.Jobs = append(js.Jobs, j)
		js.Seqs = append(js.Seqs, seq)
	}
	if err := r.Err(); err != nil {
		return Jobs{}, err
	}
	return js, nil
}

// Page returns one page of Store.Jobs from the jobs of a query of at
// most n+1: the first n, and the cursor of the next page (the last one's
// seq, as a decimal number), "" when there is none.
func (js Jobs) Page(n int) ([]*api.Job, string) {
	if len(js.Jobs) <= n {
		return js.Jobs, ""
	}
	return js.Jobs[:n], strconv.FormatInt(js.Seqs[n-1], 10)
}

// ParseCursor parses a page cursor that Page returned: "" or a job's seq.
func ParseCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	seq, err := strconv.ParseInt(s, 10, 64)
	if err != nil || seq < 0 || strconv.FormatInt(seq, 10) != s {
		return 0, fmt.Errorf("%w %q: pass the next value of the previous page", store.ErrBadCursor, s)
	}
	return seq, nil
}

// ScanEvents reads rows of seq, time, job, tenant, node, type, message
// and actor.
func ScanEvents(r Scanner) ([]api.Event, error) {
	return scanAll(r, func() (api.Event, error) {
		var ev api.Event
		var t string
		if err := r.Scan(&ev.Seq, &t, &ev.Job, &ev.Tenant, &ev.Node, &ev.Type, &ev.Message, &ev.Actor); err != nil {
			return ev, err
		}
		var err error
		if ev.Time, err = ParseTime(t); err != nil {
			return ev, fmt.Errorf("event %d: %w", ev.Seq, err)
		}
		return ev, nil
	})
}

// ScanUsage reads rows of tenant, job count and the sums of the usage
// columns (gpu_seconds, it_kwh, kwh, eur, gco2e, unpriced_kwh).
func ScanUsage(r Scanner) ([]api.TenantUsage, error) {
	return scanAll(r, func() (api.TenantUsage, error) {
		var u api.TenantUsage
		err := r.Scan(&u.Tenant, &u.Jobs, &u.GPUSeconds, &u.ITKWh, &u.KWh, &u.EUR, &u.GCO2e, &u.UnpricedKWh)
		return u, err
	})
}

// ScanNodes reads rows of name and doc.
func ScanNodes(r Scanner) ([]*api.Node, error) {
	return scanAll(r, func() (*api.Node, error) {
		var name string
		var doc []byte
		if err := r.Scan(&name, &doc); err != nil {
			return nil, err
		}
		n, err := DecodeNode(doc)
		if err != nil {
			return nil, fmt.Errorf("node %q: %w", name, err)
		}
		return n, nil
	})
}

// ScanFairShare reads rows of tenant, gpu_seconds and as_of.
func ScanFairShare(r Scanner) ([]model.Usage, error) {
	return scanAll(r, func() (model.Usage, error) {
		var u model.Usage
		var asOf int64
		err := r.Scan(&u.Tenant, &u.GPUSeconds, &asOf)
		u.AsOf = model.Time(asOf)
		return u, err
	})
}

// ScanRecords returns the reader of rows of key and doc: the records of
// kind.
func ScanRecords(kind string) func(Scanner) ([]store.Record, error) {
	return func(r Scanner) ([]store.Record, error) {
		return scanAll(r, func() (store.Record, error) {
			rec := store.Record{Kind: kind}
			err := r.Scan(&rec.Key, &rec.Doc)
			return rec, err
		})
	}
}

// scanAll reads every row of r with one, which scans the current row.
// It returns an empty slice, not nil, for no rows.
func scanAll[T any](r Scanner, one func() (T, error)) ([]T, error) {
	out := []T{}
	for r.Next() {
		v, err := one()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
