package server

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/model"
)

var nodeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// handleRegister admits a node: its place in the facility, and the tasks
// its agent still runs (a replica the server thinks runs there and the
// agent does not report is lost).
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, s.cfg.MaxBodyBytes)
	if !ok {
		return
	}
	var reg api.Register
	if !decodeJSON(w, body, &reg) {
		return
	}
	if escapeTaskText(reg.Tasks); !refuseNUL(w, body, &reg) {
		return
	}
	var errs []api.FieldError
	if !nodeName.MatchString(reg.Name) {
		errs = append(errs, api.FieldError{Field: "name", Message: "1–128 letters, digits, '.', '_' or '-', starting with a letter or digit"})
	}
	if reg.CPUs < 0 {
		errs = append(errs, api.FieldError{Field: "cpus", Message: fmt.Sprintf("must be ≥ 0 (got %d)", reg.CPUs)})
	}
	if reg.MemoryGiB < 0 {
		errs = append(errs, api.FieldError{Field: "memory_gib", Message: fmt.Sprintf("must be ≥ 0 (got %d)", reg.MemoryGiB)})
	}
	if reg.Site == "" {
		errs = append(errs, api.FieldError{Field: "site", Message: "required: the site the node is in"})
	}
	if reg.Address != "" {
		if u, err := url.Parse(reg.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, api.FieldError{Field: "address", Message: "must be an http(s)://host:port URL"})
		}
	}
	gpuModel := ""
	for i, g := range reg.GPUs {
		if g.Index != i {
			errs = append(errs, api.FieldError{Field: fmt.Sprintf("gpus[%d].index", i), Message: fmt.Sprintf("must be %d: GPUs are listed by index from 0", i)})
		}
		if i == 0 {
			gpuModel = g.Model
		} else if g.Model != gpuModel {
			errs = append(errs, api.FieldError{Field: fmt.Sprintf("gpus[%d].model", i), Message: fmt.Sprintf("%q differs from gpus[0]'s %q: a node has one GPU model", g.Model, gpuModel)})
		}
	}
	errs = append(errs, cleanGPUsDown(reg.GPUsDown, len(reg.GPUs), "gpus_down")...)
	uuids, uerrs := checkUUIDs(reg.GPUs, downSet(reg.GPUsDown))
	errs = append(errs, uerrs...)
	if len(errs) > 0 {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the registration is not valid", Errors: errs})
		return
	}
	if p := principalOf(r); reg.Name != p.Node || reg.Site != p.Site {
		// The certificate binds the node to its site: a node claiming
		// another name or site is refused, and the attempt audited.
		msg := fmt.Sprintf("node %s of site %s (by its certificate) claimed to be node %s in site %s: refused", p.Node, p.Site, reg.Name, reg.Site)
		s.log.Warn("node identity mismatch", "cert_node", p.Node, "cert_site", p.Site, "claimed_node", reg.Name, "claimed_site", reg.Site)
		s.mu.Lock()
		c := newChanges()
		c.events = append(c.events, api.Event{Node: p.Node, Type: api.EventNode, Message: msg, Actor: p.Subject})
		s.commit(r.Context(), c)
		s.mu.Unlock()
		problemf(w, http.StatusForbidden, "%s", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if errs := checkTaskLimits(reg.Tasks, s.fac.GPUModels[gpuModel]); len(errs) > 0 {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the registration is not valid", Errors: errs})
		return
	}
	now := s.cfg.Now()
	doc := api.Node{Name: reg.Name, Site: reg.Site, Address: reg.Address, CPUs: reg.CPUs, MemoryGiB: reg.MemoryGiB,
		GPUModel: gpuModel, GPUs: len(reg.GPUs), GPUUUIDs: uuids, FakeGPUs: reg.FakeGPUs, Registered: now.UTC(), LastHeartbeat: now.UTC(),
		HeartbeatSeconds: s.cfg.Heartbeat.Seconds(), Condition: api.NodeReady, GPUsDown: reg.GPUsDown}
	c := newChanges()
	c.actor = principalOf(r).Subject
	before := ""
	if o := s.nodes[reg.Name]; o != nil && o.registered && (o.node.GPUs != doc.GPUs || o.node.GPUModel != doc.GPUModel) {
		before = fmt.Sprintf("%d×%s", o.node.GPUs, or(o.node.GPUModel, "no GPU"))
	}
	if err := s.admitNode(doc, true); err != nil {
		if errors.Is(err, errRefused) {
			if s.newRefusal(reg.Name, err.Error(), now) {
				s.log.Warn("node registration refused", "node", reg.Name, "site", reg.Site, "err", err)
				c.events = append(c.events, api.Event{Node: reg.Name, Type: api.EventNode, Message: err.Error()})
				s.commit(r.Context(), c)
			}
			problemf(w, http.StatusForbidden, "%v", err)
			return
		}
		problemf(w, http.StatusBadRequest, "%v", err)
		return
	}
	delete(s.refusals, reg.Name)
	n := s.nodes[reg.Name]
	if err := s.forgetRenamed(r.Context(), n, c.actor); err != nil {
		s.fail(err)
		problemf(w, http.StatusServiceUnavailable, "could not be saved: %v", err)
		return
	}
	msg := fmt.Sprintf("node %s registered in site %s: %d×%s, %d CPUs, %d GiB", reg.Name, reg.Site, len(reg.GPUs), or(gpuModel, "no GPU"), reg.CPUs, reg.MemoryGiB)
	if before != "" {
		msg += "; it had " + before + " before"
	}
	if n.doc.Fenced {
		msg += "; it is fenced: it takes no work until an operator unfences it"
	}
	if len(reg.GPUsDown) > 0 {
		msg += fmt.Sprintf("; GPU(s) %s down: nothing is placed on them until its agent reports them up (%s)",
			downIndices(reg.GPUsDown), reg.GPUsDown[0].Reason)
	}
	if note := capRangeNote(s.fac.GPUModels[gpuModel], reg.GPUs); note != "" {
		msg += "; " + note
		s.log.Warn("node's GPUs take a narrower power range than the catalog's: caps outside it are refused", "node", reg.Name, "note", note)
	}
	c.node(n, api.EventNode, msg)
	reported := map[string]bool{}
	for _, t := range reg.Tasks {
		reported[taskKey(t.Job, t.Replica, t.Attempt)] = true
	}
	for _, id := range n.jobIDs() {
		js := s.jobs[id]
		for i := range js.doc.Replicas {
			rp := &js.doc.Replicas[i]
			if rp.Node != reg.Name || !live(rp) {
				continue
			}
			why := ""
			switch {
			case slices.ContainsFunc(rp.GPUs, func(g int) bool { return g >= n.node.GPUs }):
				// A GPU it ran on is gone: the node has fewer now.
				why = fmt.Sprintf("its GPUs %v are no longer on its node, which its agent registered with %d", rp.GPUs, n.node.GPUs)
			case rp.State == api.ReplicaRunning && !reported[taskKey(id, rp.Index, js.doc.Attempt)]:
				why = "its agent restarted without it"
			default:
				continue
			}
			rp.State, rp.EndedAt, rp.Error = api.ReplicaLost, ptrTime(now.UTC()), why
			s.replicaEnded(js, i, now, c)
		}
	}
	s.taskReports(n, reg.Tasks, n.freshRegistration(), now, c)
	s.orphansReport(n, reg.Tasks, true, now, c) // the agent runs no task while it registers
	c.bump(reg.Name)
	c.kick = true
	if err := s.commit(r.Context(), c); err != nil {
		s.fail(err)
		problemf(w, http.StatusServiceUnavailable, "could not be saved: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, api.Registered{Node: reg.Name, HeartbeatSeconds: s.cfg.Heartbeat.Seconds(),
		HeartbeatTimeoutSeconds: s.cfg.HeartbeatTimeout.Seconds(), StopAfterDisconnectSeconds: s.cfg.StopAfterDisconnect.Seconds(),
		Jurisdictions: s.fac.Sites[n.siteIdx].Jurisdictions, LogsToken: s.logsToken(reg.Name)})
}

func taskKey(job string, replica, attempt int) string {
	return job + "/" + strconv.Itoa(replica) + "/" + strconv.Itoa(attempt)
}

// handleHeartbeat records a node's task states and GPU telemetry.
func (s *Server) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !ownNode(w, r, name) {
		return
	}
	body, ok := readBody(w, r, s.cfg.MaxBodyBytes)
	if !ok {
		return
	}
	var hb api.Heartbeat
	if !decodeJSON(w, body, &hb) {
		return
	}
	hb.DiskError = clip(escapeNUL(hb.DiskError)) // free text, as a task's error
	if escapeTaskText(hb.Tasks); !refuseNUL(w, body, &hb) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[name]
	if n == nil || !n.registered {
		problemf(w, http.StatusNotFound, "node %s is not registered; register first", name)
		return
	}
	if !s.ownSite(w, r, n) {
		return
	}
	errs := append(checkSamples(hb.GPUs, n.node.GPUs, s.fac.GPUModels[n.node.GPUModel]), checkTaskLimits(hb.Tasks, s.fac.GPUModels[n.node.GPUModel])...)
	if errs = append(errs, cleanGPUsDown(hb.GPUsDown, n.node.GPUs, "gpus_down")...); len(errs) > 0 {
		writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "the heartbeat is not valid", Errors: errs})
		return
	}
	now := s.cfg.Now()
	c := newChanges()
	c.actor = principalOf(r).Subject
	n.doc.LastHeartbeat = now.UTC()
	if n.heardAtReload { // its first since the restart: it takes work again
		n.heardAtReload = false
		c.kick = true
	}
	n.loseAt = time.Time{} // heard from: its report says what still runs
	if n.doc.Condition == api.NodeNotReady {
		n.doc.Condition = api.NodeReady
		msg := "node " + name + " is ready again"
		if n.doc.Fenced {
			msg += "; it is fenced: it takes no work until an operator unfences it"
		}
		c.node(n, api.EventNode, msg)
		c.kick = true
	}
	for i := range hb.GPUs {
		hb.GPUs[i].Time = hb.GPUs[i].Time.UTC() // the agent's clock, in UTC as every time the API shows
	}
	n.doc.Telemetry = hb.GPUs
	s.integrate(n, hb.GPUs, now)
	if s.stopped {
		// The loop has stopped, and with it the usage flushes: the
		// energy this heartbeat adds is written with it.
		s.dirtyUsage(c)
	}
	s.taskReports(n, hb.Tasks, n.fresh(hb.AssignmentsVersion), now, c)
	if hb.Leaving != n.leaving {
		// Its agent is shutting down: it runs what it has, as its agent
		// stops it, and takes nothing new, as a drained node; once its
		// heartbeats stop, the heartbeat timeout applies as to any node
		// (so that a replica whose end it never reported is lost then).
		n.leaving = hb.Leaving
		msg := "node " + name + "'s agent is shutting down: the node takes no new work"
		if !hb.Leaving {
			msg = "node " + name + "'s agent is back: the node takes work again"
		}
		c.node(n, api.EventNode, msg)
		c.kick = true
	}
	if hb.DiskError != n.doc.DiskError {
		s.diskErrorReported(n, hb.DiskError, c)
	}
	if !slices.Equal(hb.GPUsDown, n.doc.GPUsDown) {
		s.gpusDownReported(n, hb.GPUsDown, c)
	}
	if s.orphansReport(n, hb.Tasks, n.builtAfter(hb.AssignmentsVersion, n.lostVersion), now, c) {
		c.kick = true // its nameplate reserve changed
	}
	if err := s.commit(r.Context(), c); err != nil {
		s.fail(err)
		problemf(w, http.StatusServiceUnavailable, "could not be saved: %v", err)
		return
	}
	d, every := s.cfg.StopAfterDisconnect.Seconds(), s.cfg.Heartbeat.Seconds()
	writeJSON(w, http.StatusOK, api.HeartbeatReply{Version: n.version, HeartbeatSeconds: &every, StopAfterDisconnectSeconds: &d,
		Jurisdictions: s.fac.Sites[n.siteIdx].Jurisdictions, LogsToken: s.logsToken(n.doc.Name)})
}

// orphansReport applies what n's agent reports running to whether n is
// unreachable (api.Node.Unreachable):
// forgetOrphans, or fencedReport for a fenced node; once n is clear, the
// replicas kept for it are released (lost_rank.go). A report that is
// not fresh, built before its agent applied the assignments of when n
// became unreachable (nodeState.lostVersion), or of an agent too old to
// say when, may predate the starts of what n may still run: it ends no
// wait. It reports whether they changed. Caller holds mu.
func (s *Server) orphansReport(n *nodeState, tasks []api.TaskStatus, fresh bool, now time.Time, c *changes) bool {
	changed := false
	switch {
	case n.doc.Fenced:
		changed = s.fencedReport(n, tasks, fresh, c)
	case fresh:
		changed = s.forgetOrphans(n, tasks)
	}
	if changed {
		c.node(n, "", "") // stored: a restarted server knows it
		s.releaseCleared(n, now, c)
	}
	return changed
}

// forgetOrphans clears n's Unreachable (see api.Node) once tasks, what its
// agent reports at a heartbeat or a registration, runs nothing that is
// not a live replica on n: the replicas lost while n was silent, which
// its agent kills once it has its assignments, have stopped. It reports
// whether it cleared them. Caller holds mu.
func (s *Server) forgetOrphans(n *nodeState, tasks []api.TaskStatus) bool {
	if !n.doc.Unreachable {
		return false
	}
	for _, t := range tasks {
		if _, _, rp := s.reported(n, t); t.State == api.ReplicaRunning && rp == nil {
			return false
		}
	}
	n.doc.Unreachable = false
	return true
}

// reported is the job and the live replica on n of the current attempt
// that task report t is about, with the replica's position in the
// job's record (t names it by its index); rp is nil for any other
// report (an earlier attempt, a replica lost or moved, a job gone).
// Caller holds mu.
func (s *Server) reported(n *nodeState, t api.TaskStatus) (js *jobState, pos int, rp *api.Replica) {
	js = s.jobs[t.Job]
	if js == nil || js.alloc == nil || t.Attempt != js.doc.Attempt {
		return nil, -1, nil
	}
	if pos = replicaAt(js.doc.Replicas, t.Replica); pos < 0 {
		return nil, -1, nil
	}
	if rp = &js.doc.Replicas[pos]; rp.Node != n.doc.Name || !live(rp) {
		return nil, -1, nil
	}
	return js, pos, rp
}

// taskReports applies an agent's task states (running, exited, failed,
// lost) to the replicas of the current attempts; reports of other
// attempts are stale and ignored. The power limits they report are
// fresh, or may predate the last change of a cap on n (nodeState.fresh,
// limitReported). The times an agent reports are its
// clock's, and GPU time is billed from them: they are kept within what
// the server knows (reportedTime).
// Caller holds mu.
func (s *Server) taskReports(n *nodeState, tasks []api.TaskStatus, fresh bool, now time.Time, c *changes) {
	for _, t := range tasks {
		js, pos, rp := s.reported(n, t)
		if rp == nil {
			continue
		}
		switch t.State {
		case api.ReplicaRunning:
			w := -1 // an agent too old to report it keeps the cap a task started with
			if t.PowerCapW != nil {
				w = *t.PowerCapW
			}
			s.limitReported(n.doc.Name, js, rp, w, t.Error, fresh, c)
			js.heardRunning(t.Replica, now)
			if rp.State == api.ReplicaAssigned {
				rp.State, rp.PID = api.ReplicaRunning, t.PID
				rp.StartedAt = reportedTime(t.StartedAt, assignedAt(js, rp), now)
				c.job(js, api.EventReplica, fmt.Sprintf("replica %d running on %s (pid %d)", t.Replica, n.doc.Name, t.PID))
				if s.allRunning(js) {
					c.job(js, api.EventRunning, "every replica is running")
				}
			}
		case api.ReplicaExited, api.ReplicaFailed, api.ReplicaLost:
			// Lost: the node's agent died after it started the replica
			// and killed what was left of it; it ends the attempt as a
			// replica lost with its node does.
			rp.State, rp.ExitCode, rp.Signal, rp.Error = t.State, t.ExitCode, t.Signal, t.Error
			rp.CPUSeconds = cpuReported(t.CPUSeconds)
			if t.PID != 0 { // a lost replica's report has none: keep the one reported running
				rp.PID = t.PID
			}
			if t.StartedAt != nil {
				rp.StartedAt = reportedTime(t.StartedAt, assignedAt(js, rp), now)
			}
			// It ended after it was last heard running (and after it
			// started and was assigned), and before this report.
			from := assignedAt(js, rp)
			if rp.StartedAt != nil && rp.StartedAt.After(from) {
				from = *rp.StartedAt
			}
			if at, ok := js.lastHeard[t.Replica]; ok && at.After(from) {
				from = at
			}
			rp.EndedAt = reportedTime(t.EndedAt, from, now)
			s.avoidReported(js, n.doc.Name, t, c)
			s.replicaEnded(js, pos, now, c)
		}
	}
}

// reportedTime is a time an agent reported, on its clock, kept within
// [from, now] of the server's; none reported is now.
func reportedTime(at *time.Time, from, now time.Time) *time.Time {
	t := now
	if at != nil {
		t = *at
	}
	if t.After(now) {
		t = now
	}
	if t.Before(from) {
		t = from
	}
	return ptrTime(t.UTC())
}

// assignedAt is when replica rp of js was assigned (the attempt's start
// for a replica stored without it).
func assignedAt(js *jobState, rp *api.Replica) time.Time {
	switch {
	case rp.AssignedAt != nil:
		return *rp.AssignedAt
	case js.doc.StartTime != nil:
		return *js.doc.StartTime
	}
	return time.Time{}
}

// allRunning reports whether every replica of js runs: each of a
// gang's; for a deployment, as many as it has replicas, its ended ones
// (released, or backing off) aside.
func (s *Server) allRunning(js *jobState) bool {
	n := 0
	for _, r := range js.doc.Replicas {
		switch {
		case r.State == api.ReplicaRunning:
			n++
		case js.job.Kind != model.KindDeployment || live(&r):
			return false
		}
	}
	return js.job.Kind != model.KindDeployment || n >= js.job.Replicas
}

// handleAssignments answers with the node's tasks, at once or, with
// ?after=V&wait=D, when they differ from version V (at the latest after D).
func (s *Server) handleAssignments(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !ownNode(w, r, name) {
		return
	}
	after, ok := queryInt(w, r, "after", -1, -1, 1<<62)
	if !ok {
		return
	}
	wait := time.Duration(0)
	if ws := r.URL.Query().Get("wait"); ws != "" {
		d, err := time.ParseDuration(ws)
		if err != nil || d < 0 || d > 5*time.Minute {
			writeProblem(w, &api.Problem{Status: http.StatusBadRequest, Detail: "invalid query parameter",
				Errors: []api.FieldError{{Field: "wait", Message: "a duration from 0s to 5m, e.g. 30s"}}})
			return
		}
		wait = d
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for polled := false; ; polled = true {
		if polled {
			// The certificate held when the poll came in; it may have
			// been revoked, replaced or have expired since, and the
			// answer (tasks, their environment) is for the node only.
			var unauth errUnauthenticated
			if p, err := s.authenticate(r); errors.As(err, &unauth) {
				unauthorized(w, r, unauth)
				return
			} else if err != nil || p != principalOf(r) {
				problemf(w, http.StatusServiceUnavailable, "authentication: the node's credentials changed while it waited (%v); retry", err)
				return
			}
		}
		s.mu.Lock()
		n := s.nodes[name]
		if n == nil || !n.registered {
			s.mu.Unlock()
			problemf(w, http.StatusNotFound, "node %s is not registered; register first", name)
			return
		}
		if !s.ownSite(w, r, n) {
			s.mu.Unlock()
			return
		}
		if s.failed != nil {
			// Memory may be ahead of the store (see fail): starts and
			// ends the successor will not know of.
			s.mu.Unlock()
			reloading(w)
			return
		}
		if s.stopped {
			s.mu.Unlock()
			stopping(w)
			return
		}
		if n.version != after || wait == 0 {
			out := api.Assignments{Version: n.version, Tasks: s.tasksOf(n), UnfinishedJobs: sortedSet(n.unfinished)}
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, out)
			return
		}
		ch := n.waitChange()
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			wait = 0
		case <-r.Context().Done():
			return
		}
	}
}

// tasksOf is everything node n should run. Caller holds mu.
func (s *Server) tasksOf(n *nodeState) []api.Task {
	tasks := []api.Task{}
	for _, id := range n.jobIDs() {
		js := s.jobs[id]
		if js == nil || js.alloc == nil {
			continue
		}
		master := "" // once a job: it looks through the job's replicas
		for i, rp := range js.doc.Replicas {
			if rp.Node == n.doc.Name && live(&rp) && !js.heldBack(&rp) {
				if master == "" {
					master = s.masterAddr(js)
				}
				tasks = append(tasks, s.task(js, i, master))
			}
		}
	}
	return tasks
}

// task is the replica at position i of js's record as its agent runs
// it, with the environment of torchrun-style launchers; master is
// s.masterAddr(js).
func (s *Server) task(js *jobState, i int, master string) api.Task {
	rp := js.doc.Replicas[i]
	env := map[string]string{}
	for k, v := range js.job.Env {
		env[k] = v
	}
	env["CARNOT_JOB_ID"] = js.doc.ID
	env["CARNOT_TENANT"] = js.doc.Tenant
	env["CARNOT_REPLICA"] = strconv.Itoa(rp.Index)
	env["CARNOT_ATTEMPT"] = strconv.Itoa(js.doc.Attempt)
	env["WORLD_SIZE"] = strconv.Itoa(js.job.Replicas)
	env["RANK"] = strconv.Itoa(rp.Rank) // a slot, not its index (rank.go)
	env["LOCAL_RANK"] = "0"             // each replica sees only its own GPUs (cuda:0 is its first), also beside others on its node (api.md)
	env["MASTER_ADDR"] = master
	env["MASTER_PORT"] = strconv.Itoa(masterPort(js.doc.ID, js.doc.Attempt))
	var uuids []string
	if n := s.nodes[rp.Node]; n != nil && len(n.doc.GPUUUIDs) == n.doc.GPUs {
		uuids = n.doc.GPUUUIDs
	}
	setVisibleDevices(env, rp.GPUs, uuids)
	// The grace is the stop's once one is asked for, else the job's, for
	// the agent's own stops (its shutdown, the runtime limit).
	grace := s.graceOf(js.job)
	switch {
	case js.stop != stopNone:
		grace = js.grace
	case rp.StopBy != nil: // leaving for a partial preemption: what is left of its grace
		grace = max(0, min(grace, rp.StopBy.Sub(s.cfg.Now())))
	}
	stop := js.stop != stopNone || rp.StopBy != nil // the replica alone, for a partial preemption
	t := api.Task{Job: js.doc.ID, Tenant: js.doc.Tenant, Replica: rp.Index, Attempt: js.doc.Attempt, Command: js.job.Command,
		Env: env, WorkDir: js.job.WorkDir, Token: s.jobToken(js), GPUs: rp.GPUs, PowerCapW: rp.PowerCapW,
		Stop: stop, GraceSeconds: grace.Seconds()}
	t.Jurisdictions = js.job.Jurisdictions
	if tn := s.fac.Tenant(js.job.Tenant); tn != nil {
		t.TenantJurisdictions = tn.Jurisdictions
	}
	t.DataClassJurisdictions = s.fac.DataClasses[js.job.DataClass]
	if js.job.RuntimeLimit > 0 && js.doc.StartTime != nil {
		t.Deadline = ptrTime(js.doc.StartTime.Add(time.Duration(js.job.RuntimeLimit) * time.Second).UTC())
	}
	return t
}

// masterPort is the rendezvous port of a job's attempt: a port in
// 20000–29999 derived from the job and attempt, so every replica computes
// the same one without coordination.
func masterPort(job string, attempt int) int {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", job, attempt)
	return 20000 + int(h.Sum32()%10000)
}

// ownSite checks that a node agent's certificate is of the site its node
// is in: a certificate binds a name and a site, and the same name in
// another site is another node. Caller holds mu.
func (s *Server) ownSite(w http.ResponseWriter, r *http.Request, n *nodeState) bool {
	if p := principalOf(r); p.Site != n.doc.Site {
		s.log.Warn("node certificate of another site", "node", n.doc.Name, "site", n.doc.Site, "cert_site", p.Site)
		problemf(w, http.StatusForbidden, "%v: node %s is in site %s, not in the certificate's site %s", auth.ErrDenied, n.doc.Name, n.doc.Site, p.Site)
		return false
	}
	return true
}

// ownNode checks that a node agent's request is about its own node.
func ownNode(w http.ResponseWriter, r *http.Request, name string) bool {
	if p := principalOf(r); p.Node != name {
		problemf(w, http.StatusForbidden, "%v: node %s may not act for node %s", auth.ErrDenied, p.Node, name)
		return false
	}
	return true
}

// diskErrorReported applies the disk error node n's agent reports
// (escaped and clipped as a task's error; ""
// when its data directory takes writes again): while it is set, every
// start there would fail at once, so the node takes no new work, as a
// drained one; an event says so, and when it ends. Caller holds mu.
func (s *Server) diskErrorReported(n *nodeState, diskErr string, c *changes) {
	had := n.doc.DiskError
	n.doc.DiskError = diskErr
	msg := "node " + n.doc.Name + "'s agent can write its data directory again: the node takes work again"
	switch {
	case diskErr != "" && had != "":
		c.node(n, "", "") // stored with its new reason, told once
		return
	case diskErr != "":
		msg = "node " + n.doc.Name + "'s agent cannot write its data directory, so every start there would fail: the node takes no new work until it can (" + diskErr + ")"
		s.log.Warn("a node's agent cannot write its data directory: the node takes no new work", "node", n.doc.Name, "err", diskErr)
	}
	c.node(n, api.EventNode, msg)
	c.kick = true
}

// cpuReported is the CPU time an agent reported for a replica, kept when
// it is not negative: an agent's report is not trusted to be a time
// (JSON carries no NaN or infinity, so a decoded one is finite).
func cpuReported(s *float64) *float64 {
	if s == nil || *s < 0 {
		return nil
	}
	v := *s
	return &v
}
