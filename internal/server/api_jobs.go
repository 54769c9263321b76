package server

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/store"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// newJobID is a random job ID: "j-" and 16 base32 characters (80 bits).
func newJobID() string {
	var b [10]byte
	rand.Read(b[:])
	return "j-" + strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// handleSubmit accepts a job (or, for /v1/deployments, a deployment):
// the body is one job in the job file's JSON form, checked by the same
// loader as job files, against the facility. The job is durable before
// the answer.
func (s *Server) handleSubmit(deployment bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r, s.cfg.MaxBodyBytes)
		if !ok {
			return
		}
		key, twice := oneHeader(r, api.IdempotencyKeyHeader)
		if twice != "" {
			writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid header",
				Errors: []api.FieldError{{Field: api.IdempotencyKeyHeader, Message: twice}}})
			return
		}
		if len(key) > 256 {
			writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid header",
				Errors: []api.FieldError{{Field: api.IdempotencyKeyHeader, Message: fmt.Sprintf("at most 256 bytes (got %d)", len(key))}}})
			return
		}
		if !utf8.ValidString(key) || strings.ContainsFunc(key, unicode.IsControl) {
			// PostgreSQL refuses a key that is not UTF-8: the same
			// submission would be saved on SQLite only.
			writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid header",
				Errors: []api.FieldError{{Field: api.IdempotencyKeyHeader, Message: "must be UTF-8 text without control characters"}}})
			return
		}
		job, spec, explicitID, prob := s.parseSpec(body, deployment, principalOf(r).Tenant)
		if prob != nil {
			s.recordRejection(r, principalOf(r).Tenant, prob)
			writeProblem(w, prob)
			return
		}
		op := "submitJob"
		if deployment {
			op = "submitDeployment"
		}
		if err := auth.Authorize(principalOf(r), op, job.Tenant); err != nil {
			prob := &api.Problem{Status: http.StatusForbidden, Detail: err.Error()}
			s.recordRejection(r, job.Tenant, prob)
			writeProblem(w, prob)
			return
		}
		// A refusal of a retried submission whose first try was saved
		// (a dependency ended since, a submission rate exceeded) answers
		// the saved job instead.
		refuse := func(prob *api.Problem) {
			id, err := "", store.ErrNotFound
			if key != "" {
				id, err = s.store.KeyedJob(r.Context(), job.Tenant, key)
			}
			switch {
			case err == nil:
				s.answerRetry(w, r, id, job, spec, key, explicitID)
			case !errors.Is(err, store.ErrNotFound):
				problemf(w, http.StatusServiceUnavailable, "reading the %s: %v", api.IdempotencyKeyHeader, err)
			default:
				s.recordRejection(r, principalOf(r).Tenant, prob)
				writeProblem(w, prob)
			}
		}
		release, prob := s.checkDeps(r.Context(), job)
		if prob != nil {
			refuse(prob)
			return
		}
		defer release() // after adopt: it sees a dependency that ended since
		if s.afterDepCheck != nil {
			s.afterDepCheck()
		}
		if prob := s.tooSoon(job); prob != nil {
			refuse(prob)
			return
		}
		now := s.cfg.Now().UTC()
		job.SubmitTime, job.SubmitOrder = model.TimeOf(now), int64(now.Nanosecond()) // FIFO within a second too
		doc := &api.Job{ID: job.ID, Kind: string(job.Kind), Tenant: job.Tenant, PriorityClass: job.PriorityClass,
			State: api.StatePending, Spec: spec, SubmitTime: now, Message: "waiting for the next scheduling pass"}
		ev := api.Event{Time: now, Job: job.ID, Tenant: job.Tenant, Type: api.EventSubmitted, Actor: principalOf(r).Subject,
			Message: fmt.Sprintf("%d×%d GPUs by %s", job.Replicas, job.GPUsPerReplica, job.Tenant)}
		wr := s.watch.begin()
		defer wr.failed(true) // should CreateJob panic; a no-op once ended
		id, created, err := s.store.CreateJob(r.Context(), doc, key, &ev)
		if err == nil && created {
			wr.done([]api.Event{ev})
		} else {
			wr.failed(err != nil && maybeSaved(r.Context(), err))
		}
		switch {
		case errors.Is(err, store.ErrExists):
			problemf(w, http.StatusConflict, "a job with id %q exists; choose another id or leave it out", job.ID)
			return
		case err != nil:
			s.log.Error("saving a submission", "err", err)
			problemf(w, http.StatusServiceUnavailable, "the job could not be saved: %v", err)
			return
		case !created:
			s.answerRetry(w, r, id, job, spec, key, explicitID)
			return
		}
		s.metrics.submissions.Inc()
		// Watchers hear of the submission before its start: the start,
		// committed after the job is adopted, has a higher seq.
		s.mu.Lock()
		s.adopt(&jobState{job: job, doc: *doc})
		s.mu.Unlock()
		if s.afterAdopt != nil {
			s.afterAdopt()
		}
		s.Kick()
		w.Header().Set("Location", "/v1/jobs/"+job.ID)
		writeJSON(w, http.StatusCreated, doc)
	}
}

// recordRejection appends a rejected event for a refused submission: a
// decision of the control plane, audited like the others. The body is not
// recorded (it may hold secrets in its env), only the reasons.
func (s *Server) recordRejection(r *http.Request, tenant string, p *api.Problem) {
	msg := p.Detail
	for _, e := range p.Errors {
		if e.Field == "" { // of the body as a whole
			msg += "; " + e.Message
			continue
		}
		msg += "; " + e.Field + ": " + e.Message
	}
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	msg = strings.ToValidUTF8(msg, "?")
	ev := api.Event{Time: s.cfg.Now().UTC(), Tenant: tenant, Type: api.EventRejected, Actor: principalOf(r).Subject,
		Message: fmt.Sprintf("submission refused (%d): %s", p.Status, msg)}
	if err := s.putRecords(r.Context(), nil, []api.Event{ev}); err != nil {
		s.log.Warn("recording a refused submission", "err", err)
	}
}

// adopt puts a pending job the store holds into memory and the queue,
// unless it is there already. Caller holds mu.
func (s *Server) adopt(js *jobState) {
	if _, ok := s.jobs[js.doc.ID]; ok {
		return
	}
	s.jobs[js.doc.ID] = js
	s.trackDeps(js, s.cfg.Now())
	s.requeue(js)
}

// DefaultTenant is the tenant a job without one is of when its submitter
// is bound to no tenant and the facility has a tenant of this name.
const DefaultTenant = "default"

// noTenant is the loader's msg for a job without a tenant submitted by a
// caller bound to none, in a facility without DefaultTenant: it says
// what to give. The caller sees the whole facility, so its tenants are
// named (the first 10).
func noTenant(msg string, fac *model.Facility) string {
	if len(fac.Tenants) == 0 {
		return msg
	}
	return fmt.Sprintf("%s: the token is bound to no tenant and the facility has no tenant %q; name the job's tenant (carnot run --tenant T), one of %s",
		msg, DefaultTenant, tenantNames(fac))
}

// tenantNames names the facility's tenants, sorted, the first 10: for
// the answers to a facility-wide caller, who sees them all.
func tenantNames(fac *model.Facility) string {
	names := make([]string, 0, len(fac.Tenants))
	for _, t := range fac.Tenants {
		names = append(names, t.Name)
	}
	if len(names) == 0 {
		return "no tenant"
	}
	slices.Sort(names)
	if len(names) > 10 {
		names = append(names[:10], fmt.Sprintf("… (%d in all)", len(fac.Tenants)))
	}
	return strings.Join(names, ", ")
}

// parseSpec reads one job from a request body with the job file loader,
// giving it an ID when it has none, and the tenant when it has none (the
// caller's, for a caller limited to one tenant; else DefaultTenant, when
// the facility has it); field errors become a problem.
func (s *Server) parseSpec(body []byte, deployment bool, tenant string) (*model.Job, json.RawMessage, bool, *api.Problem) {
	bad := func(detail string, errs ...api.FieldError) *api.Problem {
		return &api.Problem{Status: http.StatusBadRequest, Detail: detail, Errors: errs}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return nil, nil, false, bad("invalid JSON: " + err.Error())
	}
	line := compact.Bytes()
	if len(line) < 2 || line[0] != '{' {
		return nil, nil, false, bad("the body must be one job as a JSON object")
	}
	if path, ok := duplicateKey(line); !ok {
		return nil, nil, false, bad("the job is not valid", api.FieldError{Field: path, Message: "given twice: give each field once"})
	}
	// The loader reports everything else; these are the API's own rules.
	// Presence is read off a map: a field given as null is present (the
	// loader names it), not absent (filled in, then a duplicate key).
	var probe struct{ ID, Kind, SubmitTime, Tenant *json.RawMessage }
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) == nil {
		probe.ID, probe.Kind, probe.SubmitTime = rawField(m, "id"), rawField(m, "kind"), rawField(m, "submit_time")
		probe.Tenant = rawField(m, "tenant")
	}
	if otherTenant(probe.Tenant, tenant) {
		// Before the loader: its answers about another tenant's job (no
		// such tenant, the facility's tenants, that tenant's rules)
		// are not the caller's to read.
		return nil, nil, false, &api.Problem{Status: http.StatusForbidden,
			Detail: fmt.Sprintf("%v: the job is of another tenant; this token submits jobs of tenant %s only", auth.ErrDenied, tenant)}
	}
	var extra []string
	if probe.ID == nil {
		extra = append(extra, `"id":"`+newJobID()+`"`)
	}
	s.mu.Lock()
	fac := s.fac
	s.mu.Unlock()
	if probe.Tenant == nil && tenant == "" && fac.Tenant(DefaultTenant) != nil {
		// A facility-wide caller without a tenant: the facility's
		// "default" (carnot dev's only one), else the loader's "is
		// required".
		tenant = DefaultTenant
	}
	if probe.Tenant == nil && tenant != "" {
		t, _ := json.Marshal(tenant)
		extra = append(extra, `"tenant":`+string(t))
	}
	kind := ""
	if probe.Kind != nil {
		json.Unmarshal(*probe.Kind, &kind)
	}
	if deployment {
		if probe.Kind != nil && kind != "deployment" {
			return nil, nil, false, bad("a deployment's kind must be deployment", api.FieldError{Field: "kind", Message: "must be \"deployment\" on /v1/deployments; submit jobs to /v1/jobs"})
		} else if probe.Kind == nil {
			extra = append(extra, `"kind":"deployment"`)
		}
	} else if kind == string(model.KindDeployment) {
		// Each kind has its route, as documented: a deployment is listed
		// and read on /v1/deployments, which a script would not look at
		// for what it submitted here.
		return nil, nil, false, bad("a deployment goes to /v1/deployments", api.FieldError{Field: "kind", Message: "\"deployment\" is not taken on /v1/jobs: submit deployments to POST /v1/deployments (carnot submit and carnot run do)"})
	}
	if probe.SubmitTime != nil {
		return nil, nil, false, bad("the server sets the submit time", api.FieldError{Field: "submit_time", Message: "not accepted through the API: the server records when it accepts the job"})
	}
	if len(extra) > 0 {
		sep := ","
		if string(line) == "{}" {
			sep = ""
		}
		line = append([]byte("{"+strings.Join(extra, ",")+sep), line[1:]...)
	}
	jobs, err := jobspec.Load("request.jsonl", line, fac)
	if err != nil {
		var list jobspec.ErrorList
		if !errors.As(err, &list) {
			return nil, nil, false, bad(err.Error())
		}
		p := bad("the job is not valid")
		for _, e := range list {
			// The loader names the field, an unknown key included
			// (jobs[0].gpu), in the error's path.
			f, msg := strings.TrimPrefix(strings.TrimPrefix(e.Path, "jobs[0]"), "."), e.Msg
			if f == "tenant" && probe.Tenant == nil && tenant == "" {
				msg = noTenant(msg, fac)
			}
			p.Errors = append(p.Errors, api.FieldError{Field: f, Message: msg})
		}
		return nil, nil, false, p
	}
	if j := jobs[0]; j.GPUsPerReplica == 0 && j.CPUsPerReplica == 0 && j.MemGiBPerReplica == 0 {
		return nil, nil, false, bad("the job is not valid", api.FieldError{Field: "gpus", Message: "a replica must ask for GPUs, CPUs or memory: give gpus, cpus or memory_gib"})
	}
	if dc := jobs[0].DataClass; dc != "" && len(fac.DataClasses) == 0 {
		// The loader takes a class as a label when the facility defines
		// none (the twin's generated workloads); a live job's class must
		// say where its data may live, so it fails closed.
		return nil, nil, false, bad("the job is not valid", api.FieldError{Field: "data_class",
			Message: fmt.Sprintf("unknown data class %q: the facility defines no data class, so none says where this job's data may live; remove data_class or ask an operator to declare it in the facility file", yamlin.Truncate(dc, 40))})
	}
	if len(jobs[0].Command) == 0 {
		return nil, nil, false, bad("the job is not valid", api.FieldError{Field: "command", Message: "required: the argv the node agent runs, e.g. [\"python\", \"train.py\"]"})
	}
	out, err := jobspec.Marshal(jobs[0])
	if err != nil {
		return nil, nil, false, &api.Problem{Status: http.StatusInternalServerError, Detail: err.Error()}
	}
	return jobs[0], json.RawMessage(out), probe.ID != nil, nil
}

// tooSoon is the problem of a job whose deadline it could not meet even
// if it started now, or nil. It refuses a new job only: a submission
// retried with its idempotency key gets the job it created, however late.
func (s *Server) tooSoon(j *model.Job) *api.Problem {
	if j.Deadline == 0 || j.Deadline >= model.TimeOf(s.cfg.Now()).Add(j.RuntimeLimit) {
		return nil
	}
	return &api.Problem{Status: http.StatusBadRequest, Detail: "the job is not valid", Errors: []api.FieldError{{Field: "deadline",
		Message: fmt.Sprintf("%s is too soon: the job could not finish by then even if it started now (runtime_limit %s)", j.Deadline, j.RuntimeLimit)}}}
}

// jobDoc is a job as the API shows it: from memory while it is active
// (its energy counters are fresher there), else from the store.
func (s *Server) jobDoc(r *http.Request, id string) (*api.Job, error) {
	s.mu.Lock()
	if js := s.jobs[id]; js != nil {
		d := s.liveDoc(js)
		s.mu.Unlock()
		return &d, nil
	}
	s.mu.Unlock()
	return s.store.Job(r.Context(), id)
}

// liveDoc is an active job as the API shows it: its GPU time includes the
// running attempt up to now. Caller holds mu.
func (s *Server) liveDoc(js *jobState) api.Job {
	d := js.doc
	if js.held && d.Reason != nil && d.State == api.StatePending { // its dependencies' states now
		if msg := s.depWait(js); msg != "" {
			r := *d.Reason
			r.Message, d.Message = msg, msg
			d.Reason = &r
		}
	}
	d.Replicas = slices.Clone(d.Replicas)
	if js.alloc != nil {
		d.Usage.GPUSeconds += s.gpuSeconds(js, s.cfg.Now())
	}
	if t, ok := s.owner(d.PreemptedFor, false); d.PreemptedFor != "" && (!ok || t != d.Tenant) {
		d.PreemptedFor = "" // as its message, it names no job of another tenant
	}
	for i := range d.Replicas { // a partial preemption's, likewise
		if id := d.Replicas[i].PreemptedFor; id != "" {
			if t, ok := s.owner(id, false); !ok || t != d.Tenant {
				d.Replicas[i].PreemptedFor = ""
			}
		}
	}
	if len(d.PowerWaits) > 0 { // as its reason, it names no job of another tenant
		d.PowerWaits = slices.Clone(d.PowerWaits)
		for i := range d.PowerWaits {
			if t, ok := s.owner(d.PowerWaits[i].Job, false); !ok || t != d.Tenant {
				d.PowerWaits[i].Job = ""
			}
		}
	}
	return d
}

func (s *Server) handleGet(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		d, err := s.jobDoc(r, id)
		if errors.Is(err, store.ErrNotFound) {
			problemf(w, http.StatusNotFound, "no %s %q", or(kind, "job"), id)
			return
		}
		if err != nil {
			problemf(w, http.StatusServiceUnavailable, "reading job %s: %v", id, err)
			return
		}
		if !allowJob(w, r, "getJob", d.Tenant, id, fmt.Sprintf("no %s %q", or(kind, "job"), id)) {
			return
		}
		if kind != "" && d.Kind != kind {
			// the caller sees it: say where it is
			problemf(w, http.StatusNotFound, "no %s %q: %s is a %s (GET /v1/jobs/%s)", kind, id, id, d.Kind, id)
			return
		}
		writeJSON(w, http.StatusOK, d)
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Server) handleList(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, ok := queryInt(w, r, "limit", 100, 1, 1000)
		if !ok {
			return
		}
		op := "listJobs"
		if kind == string(model.KindDeployment) {
			op = "listDeployments"
		}
		tenant, ok := scopeTenant(w, r, op, q.Get("tenant"))
		if !ok || !s.knownTenant(w, r, tenant) {
			return
		}
		if !s.knownClass(w, r, tenant, q.Get("priority_class")) {
			return
		}
		f := store.JobFilter{Tenant: tenant, PriorityClass: q.Get("priority_class"), Kind: or(kind, q.Get("kind")),
			After: q.Get("after"), Limit: int(limit)}
		for _, st := range q["state"] {
			for _, x := range strings.Split(st, ",") {
				if x = strings.TrimSpace(x); x != "" {
					f.States = append(f.States, x)
				}
			}
		}
		for _, st := range f.States {
			if !slices.Contains([]string{api.StatePending, api.StateRunning, api.StatePreempting, api.StateCancelling,
				api.StateSucceeded, api.StateFailed, api.StateCancelled}, st) {
				writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
					Errors: []api.FieldError{{Field: "state", Message: fmt.Sprintf("unknown state %q", st)}}})
				return
			}
		}
		if k := q.Get("kind"); kind == "" && k != "" && k != string(model.KindJob) && k != string(model.KindDeployment) {
			writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
				Errors: []api.FieldError{{Field: "kind", Message: fmt.Sprintf("must be job or deployment, not %q", k)}}})
			return
		}
		jobs, next, err := s.store.Jobs(r.Context(), f)
		if errors.Is(err, store.ErrBadCursor) {
			writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
				Errors: []api.FieldError{{Field: "after", Message: err.Error()}}})
			return
		}
		if err != nil {
			problemf(w, http.StatusServiceUnavailable, "listing jobs: %v", err)
			return
		}
		out := api.JobList{Jobs: make([]api.Job, 0, len(jobs)), Next: next}
		s.mu.Lock()
		for _, j := range jobs {
			if js := s.jobs[j.ID]; js != nil {
				out.Jobs = append(out.Jobs, s.liveDoc(js))
				continue
			}
			out.Jobs = append(out.Jobs, *j)
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	}
}

// knownClass reports whether class, the priority class a listing filters
// by ("" for none), is one the facility has or one a stored job of tenant
// ("" for any) is of (a class removed from the facility file keeps its
// history); else it answers 400 naming the class and the facility's: a
// misspelt filter would otherwise answer an empty list, as if no job
// were of it. The classes are the facility's, named to every submitter.
func (s *Server) knownClass(w http.ResponseWriter, r *http.Request, tenant, class string) bool {
	if class == "" {
		return true
	}
	s.mu.Lock()
	fac := s.fac
	s.mu.Unlock()
	names := make([]string, 0, len(fac.PriorityClasses))
	for _, pc := range fac.PriorityClasses {
		if pc.Name == class {
			return true
		}
		names = append(names, pc.Name)
	}
	jobs, _, err := s.store.Jobs(r.Context(), store.JobFilter{Tenant: tenant, PriorityClass: class, Limit: 1})
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading the jobs of priority class %q: %v", class, err)
		return false
	}
	if len(jobs) > 0 {
		return true
	}
	slices.Sort(names)
	writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
		Errors: []api.FieldError{{Field: "priority_class", Message: fmt.Sprintf("unknown priority class %q (the facility has %s)",
			yamlin.Truncate(class, 40), strings.Join(names, ", "))}}})
	return false
}

// answerRetry answers a submission whose idempotency key created job id
// before: that job, with 200, when the submission is the same; else 409.
func (s *Server) answerRetry(w http.ResponseWriter, r *http.Request, id string, job *model.Job, spec json.RawMessage, key string, explicitID bool) {
	old, err := s.jobDoc(r, id)
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading job %s: %v", id, err)
		return
	}
	if !sameSpec(old.Spec, spec) || (explicitID && old.ID != job.ID) {
		problemf(w, http.StatusConflict, "the %s %q was used for job %s with another spec; use a new key for a new job",
			api.IdempotencyKeyHeader, key, id)
		return
	}
	// The first submission may have been committed while its answer was
	// lost (the database dropped the connection after the commit): the
	// job is in the store, not yet in memory.
	if old.State == api.StatePending {
		if err := s.adoptStored(r.Context(), old); err != nil {
			problemf(w, http.StatusServiceUnavailable, "%v", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, old)
}

// sameSpec reports whether two stored specs describe the same job, but
// for the ID (a retried submission without an ID gets a new one).
func sameSpec(a, b json.RawMessage) bool {
	var x, y map[string]any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	delete(x, "id")
	delete(y, "id")
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// otherTenant reports whether a job's tenant field names a tenant other
// than mine, the caller's ("" for a facility-wide caller, who may name
// any). A field that is not a string (null, a number) is the loader's to
// refuse.
func otherTenant(field *json.RawMessage, mine string) bool {
	var t string
	return mine != "" && field != nil && bytes.HasPrefix(*field, []byte(`"`)) && json.Unmarshal(*field, &t) == nil && t != mine
}

func rawField(m map[string]json.RawMessage, k string) *json.RawMessage {
	if v, ok := m[k]; ok {
		return &v
	}
	return nil
}
