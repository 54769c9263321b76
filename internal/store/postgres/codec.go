package postgres

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// timeLayout is how times are stored: RFC 3339 in UTC with nine
// fractional digits, so that they sort as text and round-trip exactly.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// formatTime formats t in UTC with timeLayout. It fails for a year that
// RFC 3339 cannot write.
func formatTime(t time.Time) (string, error) {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("time %s: year outside 0000-9999", t)
	}
	return t.Format(timeLayout), nil
}

// parseTime parses a time formatted by formatTime.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// jobRow is a job as the jobs table stores it.
type jobRow struct {
	id, tenant, kind, class, state string
	active                         bool
	submit                         string
	usage                          api.Usage
	doc                            []byte // the job less its spec, as JSON
	spec                           []byte // the spec verbatim; nil for none
}

// args are the row's values in the order of jobCols.
func (r jobRow) args() []any {
	var spec any // NULL
	if len(r.spec) > 0 {
		spec = r.spec
	}
	u := r.usage
	return []any{r.tenant, r.kind, r.class, r.state, r.active, r.submit,
		u.GPUSeconds, u.ITKWh, u.KWh, u.EUR, u.GCO2e, r.doc, spec}
}

// encodeJob encodes j as a row. The document holds j with its times in
// UTC and without its spec, which the row keeps verbatim: encoding/json
// would compact it, and the caller's bytes are what the store returns.
func encodeJob(j *api.Job) (jobRow, error) {
	c := utcJob(j)
	c.Spec = nil
	doc, err := json.Marshal(c)
	if err != nil {
		return jobRow{}, fmt.Errorf("encode job: %w", err)
	}
	submit, err := formatTime(j.SubmitTime)
	if err != nil {
		return jobRow{}, fmt.Errorf("encode job: submit time: %w", err)
	}
	return jobRow{
		id: j.ID, tenant: j.Tenant, kind: j.Kind, class: j.PriorityClass, state: j.State,
		active: !api.Final(j.State), submit: submit, usage: j.Usage,
		doc: doc, spec: append([]byte(nil), j.Spec...),
	}, nil
}

// decodeJob decodes a job from its document and its spec column.
func decodeJob(doc, spec []byte) (*api.Job, error) {
	j := &api.Job{}
	if err := json.Unmarshal(doc, j); err != nil {
		return nil, fmt.Errorf("decode job: %w", err)
	}
	j.Spec = nil
	if len(spec) > 0 {
		j.Spec = json.RawMessage(spec)
	}
	return j, nil
}

// utcJob returns a shallow copy of j with every time in UTC; it copies
// what it changes and shares the rest.
func utcJob(j *api.Job) api.Job {
	c := *j
	c.SubmitTime = c.SubmitTime.UTC()
	c.StartTime = utcPtr(c.StartTime)
	c.EndTime = utcPtr(c.EndTime)
	if c.Reason != nil {
		r := *c.Reason
		r.EstStart = utcPtr(r.EstStart)
		r.Pass = r.Pass.UTC()
		c.Reason = &r
	}
	if c.Replicas != nil {
		reps := make([]api.Replica, len(c.Replicas))
		for i, r := range c.Replicas {
			r.StartedAt = utcPtr(r.StartedAt)
			r.EndedAt = utcPtr(r.EndedAt)
			reps[i] = r
		}
		c.Replicas = reps
	}
	return c
}

// utcPtr returns t in UTC, as a new pointer.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// encodeNode encodes n, its times in UTC, as JSON.
func encodeNode(n *api.Node) ([]byte, error) {
	c := *n
	c.Registered = c.Registered.UTC()
	c.LastHeartbeat = c.LastHeartbeat.UTC()
	if c.Telemetry != nil {
		tel := make([]api.GPUSample, len(c.Telemetry))
		for i, s := range c.Telemetry {
			s.Time = s.Time.UTC()
			tel[i] = s
		}
		c.Telemetry = tel
	}
	doc, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode node: %w", err)
	}
	return doc, nil
}

// decodeNode decodes a node document.
func decodeNode(doc []byte) (*api.Node, error) {
	n := &api.Node{}
	if err := json.Unmarshal(doc, n); err != nil {
		return nil, fmt.Errorf("decode node: %w", err)
	}
	return n, nil
}

// eventRow is an event as the events table stores it.
type eventRow struct {
	time, job, tenant, node, typ, message string
}

// args are the row's values in the order of the insertEvent statement.
func (r eventRow) args() []any {
	return []any{r.time, r.job, r.tenant, r.node, r.typ, r.message}
}

// encodeEvent encodes ev as a row; the store assigns its Seq.
func encodeEvent(ev api.Event) (eventRow, error) {
	t, err := formatTime(ev.Time)
	if err != nil {
		return eventRow{}, fmt.Errorf("encode event: %w", err)
	}
	return eventRow{time: t, job: ev.Job, tenant: ev.Tenant, node: ev.Node, typ: ev.Type, message: ev.Message}, nil
}
