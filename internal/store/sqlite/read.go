package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/store/rows"
)

// dialect is how SQLite writes the filtered queries of Jobs and Events
// (rows.JobsQuery, rows.EventsQuery): "?" parameters, and a list as one
// parameter a value.
var dialect = rows.Dialect{
	Param: func(int) string { return "?" },
	In: func(q *rows.Query, col string, vals []string) string {
		ps := make([]string, len(vals))
		for i, v := range vals {
			ps[i] = q.Arg(v)
		}
		return col + " IN (" + strings.Join(ps, ", ") + ")"
	},
}

// Job returns the job id, or store.ErrNotFound.
func (db *DB) Job(ctx context.Context, id string) (*api.Job, error) {
	op := fmt.Sprintf("read job %q", id)
	if err := db.usable(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var doc, spec []byte
	err := db.r.QueryRowContext(ctx, "SELECT doc, spec FROM jobs WHERE id = ?", id).Scan(&doc, &spec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	j, err := decodeJob(doc, spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return j, nil
}

// Jobs returns one page of the jobs matching f in submission order, and
// the cursor of the next page: the last job's seq, as a decimal number.
func (db *DB) Jobs(ctx context.Context, f store.JobFilter) ([]*api.Job, string, error) {
	const op = "list jobs"
	if err := db.usable(); err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	after, err := rows.ParseCursor(f.After)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	n := store.PageSize(f.Limit)
	q, args := rows.JobsQuery(dialect, f, after, n+1)
	js, err := queryAll(ctx, db, rows.ScanJobs, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	jobs, next := js.Page(n)
	return jobs, next, nil
}

// Active returns every job not in a final state, in submission order.
func (db *DB) Active(ctx context.Context) ([]*api.Job, error) {
	const op = "list active jobs"
	if err := db.usable(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	js, err := queryAll(ctx, db, rows.ScanJobs, "SELECT seq, doc, spec FROM jobs WHERE active = 1 ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return js.Jobs, nil
}

// JobStates returns the state of each job of ids the store holds, in
// one query: the IDs go as one JSON array (json_each), so that any
// number of them is one statement, under SQLite's limit of variables.
func (db *DB) JobStates(ctx context.Context, ids []string) (map[string]store.JobState, error) {
	op := fmt.Sprintf("read the states of %d jobs", len(ids))
	if err := db.usable(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	// An ID JSON cannot carry as is (invalid UTF-8) names no job: no
	// job is stored under it (IDs are checked at submission).
	asked := make([]string, 0, len(ids))
	for _, id := range ids {
		if utf8.ValidString(id) {
			asked = append(asked, id)
		}
	}
	if len(asked) == 0 {
		return map[string]store.JobState{}, nil
	}
	list, err := json.Marshal(asked)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out, err := queryAll(ctx, db, rows.ScanJobStates,
		`SELECT id, tenant, kind, state, json_extract(CAST(doc AS TEXT), '$.end_time') FROM jobs
		WHERE id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// queryAll runs q on the read connections and reads its rows with scan.
func queryAll[T any](ctx context.Context, db *DB, scan func(rows.Scanner) (T, error), q string, args ...any) (T, error) {
	rs, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		var none T
		return none, err
	}
	defer rs.Close()
	return scan(rs)
}

// Events returns the events after f.After in Seq order, of job f.Job when
// set, at most f.Limit (0: 1000).
func (db *DB) Events(ctx context.Context, f store.EventFilter) ([]api.Event, error) {
	const op = "list events"
	if err := db.usable(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	q, args := rows.EventsQuery(dialect, f)
	evs, err := queryAll(ctx, db, rows.ScanEvents, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return evs, nil
}

// Usage sums the usage of every job by tenant, tenants sorted by name.
func (db *DB) Usage(ctx context.Context) ([]api.TenantUsage, error) {
	const op = "sum usage"
	if err := db.usable(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	us, err := queryAll(ctx, db, rows.ScanUsage,
		`SELECT tenant, COUNT(*), TOTAL(gpu_seconds),
		TOTAL(it_kwh), TOTAL(kwh), TOTAL(eur), TOTAL(gco2e), TOTAL(unpriced_kwh)
		FROM jobs GROUP BY tenant ORDER BY tenant`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return us, nil
}

// Nodes returns every node, sorted by name.
func (db *DB) Nodes(ctx context.Context) ([]*api.Node, error) {
	const op = "list nodes"
	if err := db.usable(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	nodes, err := queryAll(ctx, db, rows.ScanNodes,
		"SELECT name, doc FROM nodes ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return nodes, nil
}
