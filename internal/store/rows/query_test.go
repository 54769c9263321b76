package rows

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/store"
)

// numbered is a dialect of numbered parameters that lists the values of
// In one parameter each, so that the test sees every argument's number.
var numbered = Dialect{
	Param: func(n int) string { return "$" + strconv.Itoa(n) },
	In: func(q *Query, col string, vals []string) string {
		ps := make([]string, len(vals))
		for i, v := range vals {
			ps[i] = q.Arg(v)
		}
		return col + " IN (" + strings.Join(ps, ", ") + ")"
	},
}

func TestJobsQueryNumbersItsArguments(t *testing.T) {
	f := store.JobFilter{Tenant: "acme", Kind: "job", States: []string{"pending", "running"}}
	q, args := JobsQuery(numbered, f, 7, 101)
	wantQ := "SELECT seq, doc, spec FROM jobs WHERE seq > $1 AND tenant = $2 AND kind = $3" +
		" AND state IN ($4, $5) ORDER BY seq LIMIT $6"
	if q != wantQ {
		t.Errorf("query\n%s\nwant\n%s", q, wantQ)
	}
	if diff := cmp.Diff([]any{int64(7), "acme", "job", "pending", "running", 101}, args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}

func TestEventsQueryDefaultsItsLimit(t *testing.T) {
	q, args := EventsQuery(numbered, store.EventFilter{Tenant: "acme", After: 3})
	wantQ := "SELECT seq, time, job, tenant, node, type, message, actor FROM events" +
		" WHERE seq > $1 AND tenant = $2 ORDER BY seq LIMIT $3"
	if q != wantQ {
		t.Errorf("query\n%s\nwant\n%s", q, wantQ)
	}
	if diff := cmp.Diff([]any{int64(3), "acme", DefaultEvents}, args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}
