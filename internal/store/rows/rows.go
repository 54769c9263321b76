// Package rows is how the stores encode jobs, nodes and events as rows:
// JSON documents with their times in UTC, the spec verbatim, times as
// sortable RFC 3339 text. The SQLite and PostgreSQL backends share it so
// that they store the same bytes. It also holds what they do alike
// around their SQL: reading the rows of a query into the Store
// interface's values (scan.go), and writing the filtered queries of Jobs
// and Events in either dialect (query.go).
package rows

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// textNUL reports whether one of ss holds the NUL character.
func textNUL(ss ...string) bool {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
	return false
}

// jsonNUL reports whether the JSON text doc holds the escape \u0000 (a
// NUL in a string or key; encoding/json writes it so), not counting an
// escaped backslash followed by "u0000".
func jsonNUL(doc []byte) bool {
	for i := 0; ; {
		k := bytes.Index(doc[i:], []byte(`\u0000`))
		if k < 0 {
			return false
		}
		k += i
		n := 0 // the backslashes that end at k, its own included
		for j := k; j >= 0 && doc[j] == '\\'; j-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = k + 1
	}
}

// timeLayout is how times are stored: RFC 3339 in UTC with nine
// fractional digits, so that they sort as text and round-trip exactly.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// FormatTime formats t in UTC with timeLayout. It fails for a year that
// RFC 3339 cannot write.
func FormatTime(t time.Time) (string, error) {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("time %s: year outside 0000-9999", t)
	}
	return t.Format(timeLayout), nil
}

// ParseTime parses a time formatted by FormatTime.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// Job is a job as the jobs table stores it.
type Job struct {
	ID, Tenant, Kind, Class, State string
	Active                         bool
	Submit                         string
	Usage                          api.Usage
	Doc                            []byte // the job less its spec, as JSON
	Spec                           []byte // the spec verbatim; nil for none
}

// JobCols are the columns a job row is written with (after its id), in
// the order of Job.Args.
const JobCols = `tenant, kind, priority_class, state, active, submit_time,
	gpu_seconds, it_kwh, kwh, eur, gco2e, unpriced_kwh, doc, spec`

// NJobCols is the number of JobCols.
var NJobCols = strings.Count(JobCols, ",") + 1

// Args are the row's values in the order of JobCols.
func (r Job) Args() []any {
	var spec any // NULL
	if len(r.Spec) > 0 {
		spec = r.Spec
	}
	u := r.Usage
	return []any{r.Tenant, r.Kind, r.Class, r.State, r.Active, r.Submit,
		u.GPUSeconds, u.ITKWh, u.KWh, u.EUR, u.GCO2e, u.UnpricedKWh, r.Doc, spec}
}

// EncodeJob encodes j as a row. The document holds j with its times in
// UTC and without its spec, which the row keeps verbatim: encoding/json
// would compact it, and the caller's bytes are what the store returns.
func EncodeJob(j *api.Job) (Job, error) {
	c := UTCJob(j)
	c.Spec = nil
	doc, err := json.Marshal(c)
	if err != nil {
		return Job{}, fmt.Errorf("encode job: %w", err)
	}
	if textNUL(j.ID, j.Tenant, j.Kind, j.PriorityClass, j.State) || jsonNUL(doc) {
		return Job{}, fmt.Errorf("encode job: a string %w", store.ErrNUL)
	}
	submit, err := FormatTime(j.SubmitTime)
	if err != nil {
		return Job{}, fmt.Errorf("encode job: submit time: %w", err)
	}
	return Job{
		ID: j.ID, Tenant: j.Tenant, Kind: j.Kind, Class: j.PriorityClass, State: j.State,
		Active: !api.Final(j.State), Submit: submit, Usage: j.Usage,
		Doc: doc, Spec: append([]byte(nil), j.Spec...),
	}, nil
}

// DecodeJob decodes a job from its document and its spec column.
func DecodeJob(doc, spec []byte) (*api.Job, error) {
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

// UTCJob returns a shallow copy of j with every time in UTC; it copies
// what it changes and shares the rest.
func UTCJob(j *api.Job) api.Job {
	c := *j
	c.SubmitTime = c.SubmitTime.UTC()
	c.StartTime = utcPtr(c.StartTime)
	c.EndTime = utcPtr(c.EndTime)
	c.LastCheckpoint = utcPtr(c.LastCheckpoint)
	c.PreemptedAt = utcPtr(c.PreemptedAt)
	c.StopBy = utcPtr(c.StopBy)
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
			r.AssignedAt = utcPtr(r.AssignedAt)
			r.ReplaceAt = utcPtr(r.ReplaceAt)
			r.StopBy = utcPtr(r.StopBy)
			reps[i] = r
		}
		c.Replicas = reps
	}
	if c.PastAttempts != nil {
		past := make([]api.PastAttempt, len(c.PastAttempts))
		for i, p := range c.PastAttempts {
			p.StartTime = utcPtr(p.StartTime)
			past[i] = p
		}
		c.PastAttempts = past
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

// EncodeNode encodes n, its times in UTC, as JSON.
func EncodeNode(n *api.Node) ([]byte, error) {
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
	if jsonNUL(doc) {
		return nil, fmt.Errorf("encode node: a string %w", store.ErrNUL)
	}
	return doc, nil
}

// DecodeNode decodes a node document.
func DecodeNode(doc []byte) (*api.Node, error) {
	n := &api.Node{}
	if err := json.Unmarshal(doc, n); err != nil {
		return nil, fmt.Errorf("decode node: %w", err)
	}
	return n, nil
}

// Event is an event as the events table stores it.
type Event struct {
	Time, Job, Tenant, Node, Type, Message, Actor string
}

// Args are the row's values in the order of the stores' insertEvent
// statements: time, job, tenant, node, type, message, actor.
func (r Event) Args() []any {
	return []any{r.Time, r.Job, r.Tenant, r.Node, r.Type, r.Message, r.Actor}
}

// EncodeEvent encodes ev as a row; the store assigns its Seq.
func EncodeEvent(ev api.Event) (Event, error) {
	t, err := FormatTime(ev.Time)
	if err != nil {
		return Event{}, fmt.Errorf("encode event: %w", err)
	}
	if textNUL(ev.Job, ev.Tenant, ev.Node, ev.Type, ev.Message, ev.Actor) {
		return Event{}, fmt.Errorf("encode event: a string %w", store.ErrNUL)
	}
	return Event{Time: t, Job: ev.Job, Tenant: ev.Tenant, Node: ev.Node, Type: ev.Type, Message: ev.Message, Actor: ev.Actor}, nil
}

// EncodeEvents encodes the events of one write; an error names the
// event's index.
func EncodeEvents(events []api.Event) ([]Event, error) {
	out := make([]Event, len(events))
	for i, ev := range events {
		var err error
		if out[i], err = EncodeEvent(ev); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
	}
	return out, nil
}

// EncodeNodes encodes the nodes of one write; an error names the node.
func EncodeNodes(nodes []*api.Node) ([][]byte, error) {
	docs := make([][]byte, len(nodes))
	for i, n := range nodes {
		if n == nil || n.Name == "" {
			return nil, fmt.Errorf("node %d has no name", i)
		}
		var err error
		if docs[i], err = EncodeNode(n); err != nil {
			return nil, fmt.Errorf("node %q: %w", n.Name, err)
		}
	}
	return docs, nil
}

// Update is one Store.Update call encoded: its jobs, events and nodes.
type Update struct {
	Jobs   []Job
	Events []Event
	Nodes  [][]byte
}

// EncodeUpdate encodes the arguments of Store.Update; an error names the
// job, event or node that could not be encoded.
func EncodeUpdate(jobs []*api.Job, events []api.Event, nodes []*api.Node) (Update, error) {
	u := Update{Jobs: make([]Job, len(jobs))}
	for i, j := range jobs {
		if j == nil || j.ID == "" {
			return Update{}, fmt.Errorf("job %d has no ID", i)
		}
		var err error
		if u.Jobs[i], err = EncodeJob(j); err != nil {
			return Update{}, fmt.Errorf("job %q: %w", j.ID, err)
		}
	}
	var err error
	if u.Events, err = EncodeEvents(events); err != nil {
		return Update{}, err
	}
	if u.Nodes, err = EncodeNodes(nodes); err != nil {
		return Update{}, err
	}
	return u, nil
}

// Create is one Store.CreateJob call encoded: the job's row and its
// first event's row.
type Create struct {
	Job   Job
	Event Event
}

// EncodeCreate checks and encodes the arguments of Store.CreateJob. Its
// errors name the call ("create job …").
func EncodeCreate(j *api.Job, key string, ev *api.Event) (Create, error) {
	if j == nil || j.ID == "" {
		return Create{}, errors.New("create job: no job ID")
	}
	if ev == nil {
		return Create{}, errors.New("create job: no event")
	}
	op := fmt.Sprintf("create job %q", j.ID)
	if textNUL(key) {
		return Create{}, fmt.Errorf("%s: the idempotency key %w", op, store.ErrNUL)
	}
	row, err := EncodeJob(j)
	if err != nil {
		return Create{}, fmt.Errorf("%s: %w", op, err)
	}
	erow, err := EncodeEvent(*ev)
	if err != nil {
		return Create{}, fmt.Errorf("%s: %w", op, err)
	}
	return Create{Job: row, Event: erow}, nil
}

// Scanner is the part of a query's rows (database/sql's and pgx's)
// that the Scan readers read.
type Scanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanJobStates reads rows of id, tenant, kind, state and end time
// (end_time, as JSON text, or NULL) by ID: JobStates' answer in either
// store.
func ScanJobStates(r Scanner) (map[string]store.JobState, error) {
	out := map[string]store.JobState{}
	for r.Next() {
		var id, tenant, kind, state string
		var end *string
		if err := r.Scan(&id, &tenant, &kind, &state, &end); err != nil {
			return nil, err
		}
		js, err := JobState(state, end)
		if err != nil {
			return nil, fmt.Errorf("job %q: %w", id, err)
		}
		js.Tenant, js.Kind = tenant, kind
		out[id] = js
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// JobState is a job's state column and the end time its document holds
// (end_time, as JSON text; nil for none).
func JobState(state string, end *string) (store.JobState, error) {
	js := store.JobState{State: state}
	if end != nil {
		t, err := ParseTime(*end)
		if err != nil {
			return store.JobState{}, fmt.Errorf("end time: %w", err)
		}
		js.EndTime = &t
	}
	return js, nil
}
