package rows

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/store"
)

// A Dialect is how one store writes the two things its filtered queries
// (JobsQuery, EventsQuery) differ in from the other store's.
type Dialect struct {
	// Param is the placeholder of a query's nth argument, from 1: "?"
	// in SQLite, "$n" in PostgreSQL.
	Param func(n int) string
	// In is the condition that col is one of vals, whose values it adds
	// to q's arguments (q.Arg).
	In func(q *Query, col string, vals []string) string
}

// Query is a query being written and its arguments.
type Query struct {
	d    Dialect
	sql  strings.Builder
	args []any
}

// Arg adds v to q's arguments and returns its placeholder.
func (q *Query) Arg(v any) string {
	q.args = append(q.args, v)
	return q.d.Param(len(q.args))
}

// JobsQuery is the query of one page of Store.Jobs, and its arguments:
// seq, doc and spec of the jobs after seq after that match f, in seq
// order, at most limit.
func JobsQuery(d Dialect, f store.JobFilter, after int64, limit int) (string, []any) {
	q := &Query{d: d}
	fmt.Fprintf(&q.sql, "SELECT seq, doc, spec FROM jobs WHERE seq > %s", q.Arg(after))
	for _, c := range []struct{ col, val string }{
		{"tenant", f.Tenant}, {"priority_class", f.PriorityClass}, {"kind", f.Kind},
	} {
		if c.val != "" {
			fmt.Fprintf(&q.sql, " AND %s = %s", c.col, q.Arg(c.val))
		}
	}
	if len(f.States) > 0 {
		q.sql.WriteString(" AND " + d.In(q, "state", f.States))
	}
	fmt.Fprintf(&q.sql, " ORDER BY seq LIMIT %s", q.Arg(limit))
	return q.sql.String(), q.args
}

// DefaultEvents is the number of events Store.Events returns when the
// filter sets no limit.
const DefaultEvents = 1000

// EventsQuery is the query of Store.Events, and its arguments: the
// events after f.After that match f, in seq order, at most f.Limit
// (DefaultEvents when 0), as ScanEvents reads them.
func EventsQuery(d Dialect, f store.EventFilter) (string, []any) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultEvents
	}
	q := &Query{d: d}
	fmt.Fprintf(&q.sql, "SELECT seq, time, job, tenant, node, type, message, actor FROM events WHERE seq > %s", q.Arg(f.After))
	if f.Job != "" {
		fmt.Fprintf(&q.sql, " AND job = %s", q.Arg(f.Job))
	}
	if f.Tenant != "" {
		fmt.Fprintf(&q.sql, " AND tenant = %s", q.Arg(f.Tenant))
	}
	fmt.Fprintf(&q.sql, " ORDER BY seq LIMIT %s", q.Arg(limit))
	return q.sql.String(), q.args
}
