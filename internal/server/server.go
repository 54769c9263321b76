package server

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/auth"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/sched"
	"github.com/carnot-dc/carnot/internal/store"
)

// Server is the live control plane of one facility.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store store.Store

	// afterAdopt, when set (by tests), runs once a submission is in
	// memory and mu is released.
	afterAdopt func()
	// afterDepCheck, when set (by tests), runs once a submission's
	// dependencies are checked, before it is saved.
	afterDepCheck func()
	// beforeReplay, when set (by tests), runs once a resuming watch is
	// subscribed and authenticated, before it reads the stored events.
	beforeReplay func()
	// schedule is the core's pass, sched.Quick; tests wrap it to add
	// entries to its plans.
	schedule func(*model.Snapshot, *sched.Queue, model.Time, int) (model.Plan, []*model.Job)

	// enrollMu makes an enrollment's check of the name's site and its
	// record one step: two join tokens of different sites enrolling one
	// new name at once must not both get a certificate.
	enrollMu sync.Mutex
	// certs is the node certificates accepted (node_certs.go).
	certs nodeCerts

	mu   sync.Mutex
	fac  *model.Facility // replaced (never mutated) when a node joins
	jobs map[string]*jobState
	// avoid holds, by job ID, the api.Job.AvoidNodes of unfinished jobs
	// that have some (cap_refused.go), for the snapshot; a list is
	// replaced, never appended to in place.
	avoid map[string][]string
	// gone holds the tenant of each job forgotten (forgetFinal) since
	// the pass under way began, for ownView (redact.go).
	gone map[string]string
	// dependents lists, by job ID, the held jobs waiting for it to
	// succeed; depChecking counts the submissions whose check holds a
	// job ID, depOutcome keeps how such a job ended, and depBroken lists
	// held jobs to cancel (depends.go).
	dependents  map[string][]string
	depChecking map[string]int
	depOutcome  map[string]string
	depBroken   []depBreak
	// running holds the jobs with an allocation (jobState.alloc).
	running map[string]*jobState
	// waiting holds the running jobs with replicas held until lent
	// power is taken back (capwait.go).
	waiting map[string]*jobState
	// backingOff holds the running deployments with a replica whose
	// replacement waits for a back-off (backoff.go).
	backingOff map[string]*jobState
	// restarting holds the deployments queued again after a crash loop
	// until their back-off ends (backoff.go).
	restarting map[string]*jobState
	// silentWait holds the deployments queued again whose next attempt
	// waits for a node that may still run a replica of the last one
	// (lost_rank.go).
	silentWait map[string]*jobState
	// freed: a job left running since the last pass, freeing power that
	// a pass with an empty queue may lend, or the server started, with
	// loans its facility may no longer have room for (mayRecap)
	freed bool
	// queueOps are the changes to the queue since the last pass: the
	// loop owns the queue and applies them at the start of a pass, so
	// that a pass never holds mu while it walks the queue.
	queueOps []queueOp
	queue    *sched.Queue // owned by the loop
	nextFull time.Time    // when the next full pass is due
	nodes    map[string]*nodeState
	usage    map[string]*model.Usage
	// claims lists, per pending job, the nodes with GPUs claimed for it.
	claims map[string][]*nodeState
	// recent are the times of recent preemptions (the core's rate limit).
	recent []model.Time
	// wake is when the loop must run at the latest (deferrals, not-before).
	wake     time.Time
	lastPlan api.Plan
	ready    bool
	// failed is set when a commit failed: memory may be ahead of the
	// store, so the loop stops until the server is restarted.
	failed error
	// stopped is set when the loop stopped (the process is stopping):
	// the agents' long polls end and new ones are answered as a
	// standby's, so that the listeners' graceful shutdown need not wait
	// for them.
	stopped   bool
	lastFlush time.Time
	// usageDirty says the fair-share history changed since it was saved.
	usageDirty bool
	// unpriced holds the sites whose energy went unpriced (outside their
	// grid series) since it was last priced (notePriced).
	unpriced map[string]bool
	// refusals holds, per node name, the last registration refusal
	// recorded as an event (newRefusal).
	refusals map[string]refusal
	// losing holds the nodes the facility no longer admits whose live
	// replicas count as lost at the time given, once their agents have
	// stopped them (Config.StopAfterDisconnect; removed_nodes.go).
	losing map[string]time.Time

	kick   chan struct{}
	audit  *auditor // nil without Config.AuditSigner
	hasher *auth.Hasher
	tokenKeyState
	tokens tokens
	caPool *x509.CertPool // Config.CA's, to check nodes' log servers
	// nodeClients holds an *http.Client per "site/node" log server.
	nodeClients sync.Map
	// gate is held (read) by every request that changes something, and
	// (write) by Retire; retired refuses changes.
	gate    sync.RWMutex
	retired bool
	watch   *hub
	follows streamCounts // followed logs open, by holder
	// streamsDone is closed when the loop stops (endStreams): the logs
	// followed end, as the watches do, so that they do not hold a
	// graceful shutdown.
	streamsDone chan struct{}
	endOnce     sync.Once
	// streamCheck is how often a stream (a watch, a followed log) with
	// nothing to send checks that its credentials still hold.
	streamCheck time.Duration
	metrics     *metrics
	mux         *http.ServeMux // the operator listener's: every route
	tenant      *http.ServeMux // the tenant listener's: no operator-only route
}

// New builds a server and reloads the store's nodes and unfinished jobs.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, store: cfg.Store,
		fac:        cfg.Facility,
		jobs:       map[string]*jobState{},
		dependents: map[string][]string{}, depChecking: map[string]int{}, depOutcome: map[string]string{},
		avoid:      map[string][]string{},
		running:    map[string]*jobState{},
		waiting:    map[string]*jobState{},
		backingOff: map[string]*jobState{},
		restarting: map[string]*jobState{},
		silentWait: map[string]*jobState{},
		claims:     map[string][]*nodeState{},
		queue:      sched.NewQueue(cfg.Facility, nil),
		nodes:      map[string]*nodeState{},
		usage:      map[string]*model.Usage{},
		unpriced:   map[string]bool{},
		refusals:   map[string]refusal{},
		losing:     map[string]time.Time{},
		kick:       make(chan struct{}, 1),
		watch:      newHub(),

		streamsDone: make(chan struct{}),

		schedule:    sched.Quick,
		streamCheck: 15 * time.Second,
	}
	s.metrics = newMetrics(s)
	if err := s.initTokens(); err != nil {
		return nil, err
	}
	if cfg.CA != nil {
		s.caPool = x509.NewCertPool()
		if !s.caPool.AppendCertsFromPEM(cfg.CA.CertPEM()) {
			return nil, errors.New("server: the CA's certificate is not PEM")
		}
	}
	// A new leader's event first: what its start records (its facility
	// file's changes, its audit key) comes after it, in its epoch.
	if err := s.recordLeader(ctx); err != nil {
		return nil, err
	}
	if cfg.AuditSigner != nil {
		a, err := s.openAuditLog(ctx, cfg.AuditSigner)
		if err != nil {
			return nil, fmt.Errorf("server: audit log: %w", err)
		}
		s.audit = a
	}
	for _, n := range cfg.Facility.Nodes {
		s.nodes[n.Name] = s.listedNode(n)
	}
	// The policy's changes first: the jobs reload flags as outside it
	// are their consequence.
	if err := s.recordPolicy(ctx); err != nil {
		return nil, err
	}
	if err := s.recordTerms(ctx); err != nil {
		return nil, err
	}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	if err := s.loadNodeCerts(ctx); err != nil {
		return nil, err
	}
	if err := s.checkTokenKey(ctx); err != nil {
		return nil, err
	}
	if err := s.checkSecrets(ctx); err != nil {
		return nil, err
	}
	s.mux, s.tenant = s.routes(true), s.routes(false)
	if cfg.AuditRetention < MinAuditRetention {
		ev := api.Event{Time: cfg.Now().UTC(), Type: EventAuditPolicy, Actor: "server:config",
			Message: fmt.Sprintf("audit retention set to %s, below the %s minimum, by override: %s", cfg.AuditRetention, MinAuditRetention, cfg.AuditRetentionOverride)}
		if err := s.putRecords(ctx, nil, []api.Event{ev}); err != nil {
			return nil, fmt.Errorf("server: recording the audit retention override: %w", err)
		}
		s.log.Warn("audit retention below the minimum, by override", "retention", cfg.AuditRetention, "reason", cfg.AuditRetentionOverride)
	}
	return s, nil
}

// ErrCommitFailed is returned by Run when a commit failed (the database
// went away, a disk filled up): the server's memory may be ahead of the
// store, so it stops; a new server built from the store takes over.
var ErrCommitFailed = errors.New("server: a commit failed")

// EventAuditPolicy is the type of the event that records an audit
// retention below the minimum.
const EventAuditPolicy = api.EventPolicy

// versionBase starts every node's assignment version at a random number,
// so that a restarted server never repeats a version an agent has seen
// (agents wait for a version different from theirs).
func versionBase() int64 {
	var b [8]byte
	rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:]) >> 2)
}

func (s *Server) newNode(n model.Node, doc api.Node) *nodeState {
	si := 0
	for i := range s.fac.Sites {
		if s.fac.Sites[i].ID == n.Site {
			si = i
		}
	}
	v := versionBase()
	return &nodeState{doc: doc, node: n, jobs: map[string]bool{}, unfinished: map[string]bool{}, gpus: make([]model.GPUState, n.GPUs),
		lastSample: map[int]time.Time{}, siteIdx: si, version: v, capsVersion: v - 1, lostVersion: v - 1}
}

// builtAfter reports whether an agent of n built a report having
// applied the assignments of version v (nil: an agent older than that
// field), later than version since, in this server's numbering.
func (n *nodeState) builtAfter(v *int64, since int64) bool {
	return v != nil && *v > since && *v <= n.version
}

// unreachable marks n unreachable, if it was not: until a report built
// once its agent applied the assignments of now on (bumped, so that it
// fetches them), it may still run what it ran. Caller holds mu.
func (n *nodeState) unreachable(c *changes) {
	if !n.doc.Unreachable {
		n.doc.Unreachable, n.lostVersion = true, n.version
		c.bump(n.doc.Name)
	}
}

// fresh reports whether the limits an agent of n reports were read
// once it had applied the assignments of version v (nil: an agent
// older than that field), which show every cap changed on n since
// (nodeState.capsVersion). A version of another server's numbering (a
// restarted server, another leader) is, but for one chance in about
// 2^62 / versions since, outside (capsVersion, version].
func (n *nodeState) fresh(v *int64) bool { return n.builtAfter(v, n.capsVersion) }

// freshRegistration reports whether the limits an agent of n reports
// in its registration are fresh: no cap changed on n since the server
// started. The agent applies nothing while it registers, and applied
// every assignment of an earlier server before: after it built the
// registration it can apply only this server's, which show the caps
// stored, until a change.
func (n *nodeState) freshRegistration() bool { return !n.capsChanged }

// reload restores nodes and unfinished jobs from the store. Nodes count
// as heard from now, so that their agents have one heartbeat timeout to
// report what they still run, and take no new work until they do
// (nodeState.heardAtReload: an agent gone for good would fail it only at
// the timeout); one stored not ready keeps the time of its last
// heartbeat, which the API shows (it is not timed out again).
func (s *Server) reload(ctx context.Context) error {
	nodes, err := s.store.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("server: reading nodes: %w", err)
	}
	now := s.cfg.Now()
	unfit := map[string]error{} // stored nodes the facility no longer admits as stored
	unfitDocs := map[string]*api.Node{}
	for _, doc := range nodes {
		if doc.Condition != api.NodeNotReady {
			doc.LastHeartbeat = now.UTC()
		}
		if err := s.admitNode(*doc, false); err != nil {
			unfit[doc.Name], unfitDocs[doc.Name] = err, doc
			s.keepFlags(doc)
			continue
		}
		// A facility node stored only because it was drained before its
		// agent ever registered is still unregistered.
		s.nodes[doc.Name].registered = !doc.Registered.IsZero()
		s.nodes[doc.Name].heardAtReload = doc.Condition != api.NodeNotReady
		// A node stored as unreachable still is (admitNode keeps it, see
		// api.Node); one stored not ready but reachable went silent
		// running nothing, and counts as down.
	}
	fs, err := s.store.FairShare(ctx)
	if err != nil {
		return fmt.Errorf("server: reading the fair-share history: %w", err)
	}
	for _, u := range fs {
		s.usage[u.Tenant] = &u
	}
	active, err := s.store.Active(ctx)
	if err != nil {
		return fmt.Errorf("server: reading jobs: %w", err)
	}
	for _, doc := range active {
		js, err := jobFromDoc(doc)
		if err != nil {
			return fmt.Errorf("server: job %s in the store: %w", doc.ID, err)
		}
		s.jobs[js.doc.ID] = js
		if len(js.doc.AvoidNodes) > 0 {
			s.avoid[js.doc.ID] = slices.Clone(js.doc.AvoidNodes)
		}
		if js.doc.PreemptedAt != nil { // the rate limit's window (pruneRecent keeps its part)
			s.recent = append(s.recent, model.TimeOf(*js.doc.PreemptedAt))
		}
		s.restoreRanOn(js)
		restoreRanks(js)
		if js.doc.State != api.StatePending && len(js.doc.Replicas) > 0 {
			s.restoreAlloc(js)
		}
		s.restoreRestartHold(js, now)
		s.holdForSilent(js)
		js.held = js.doc.State == api.StatePending && len(js.job.DependsOn) > 0 // trackDeps below
		s.requeue(js)
	}
	if err := s.trackLoadedDeps(ctx, now); err != nil {
		return err
	}
	slices.Sort(s.recent)
	s.restoreClaims()
	// Replicas on nodes the facility no longer admits are lost.
	c := newChanges()
	s.releaseUnkept(now, c)
	lost := s.loseOnUnadmitted(now, c)
	if err := s.keepRemoved(unfitDocs, unfit, lost, c); err != nil {
		return err
	}
	gone := s.unfitNodes(unfit, lost, c)
	s.stillSilent(now, c)
	flags := s.orphans(now, c)
	flags = append(flags, s.flagShared()...)
	flags = append(flags, s.flagOutOfPolicy(now, c)...)
	if err := s.commit(ctx, c); err != nil {
		return err
	}
	if err := s.recordFlags(ctx, flags); err != nil {
		return err
	}
	if err := s.forgetNodes(ctx, gone); err != nil {
		return err
	}
	// The first pass runs the core even with nothing queued (mayRecap):
	// the facility may have less power than when the loans were made (a
	// lower envelope), and the loans it has no room for go back at once.
	s.freed = true
	s.warnOverEnvelope(now)
	return nil
}

// warnOverEnvelope warns of each site whose envelope, and each hall and
// rack whose power cap, as the facility now gives it, is below the load
// of the work it runs (an envelope or cap lowered across a restart):
// that work runs on, as the core stops nothing for power, and nothing
// that adds load starts there until the load is under it. Caller has
// the server to itself.
func (s *Server) warnOverEnvelope(now time.Time) {
	if !s.fac.Policy.Power {
		return
	}
	load := plan.PowerW(s.snapshot(now), nil)
	for _, st := range s.fac.Sites {
		if w := load.Site[st.ID]; w > st.PowerEnvelopeKW*1000 {
			s.log.Warn("site's power envelope is below the load of the work it runs: that work runs on; nothing that adds load starts there until the load is under the envelope",
				"site", st.ID, "envelope_kw", st.PowerEnvelopeKW, "load_kw", w/1000)
		}
	}
	for _, h := range s.fac.Halls {
		if w := load.Hall[h.ID]; h.PowerCapKW > 0 && w > h.PowerCapKW*1000 {
			s.log.Warn("hall's power cap is below the load of the work it runs: that work runs on; nothing that adds load starts there until the load is under the cap",
				"hall", h.ID, "cap_kw", h.PowerCapKW, "load_kw", w/1000)
		}
	}
	for _, r := range s.fac.Racks {
		if w := load.Rack[r.ID]; r.PowerCapKW > 0 && w > r.PowerCapKW*1000 {
			s.log.Warn("rack's power cap is below the load of the work it runs: that work runs on; nothing that adds load starts there until the load is under the cap",
				"rack", r.ID, "cap_kw", r.PowerCapKW, "load_kw", w/1000)
		}
	}
}

// flagOutOfPolicy finds each running job with a replica in a site the
// facility's policy no longer allows for it (a tenant's or a data
// class's jurisdictions narrowed, a site's tags changed since it
// started) and records an event saying so, for the audit log. What then
// happens is the policy's (model.Policy.Outside): by default the work
// keeps running, as Kubernetes keeps a pod whose affinity no longer
// matches, and an operator may cancel it; with "requeue" it is stopped
// like a preemption victim (SIGTERM, its checkpoint grace, SIGKILL) and
// queued again, and the core places it only where it is allowed. Work
// already stopping is only flagged. A job only flagged changes nothing:
// its event is returned, for recordFlags to record once per change, not
// at every start while it runs. Caller holds mu or has the server to
// itself.
func (s *Server) flagOutOfPolicy(now time.Time, c *changes) []api.Event {
	var flags []api.Event
	for _, id := range sortedKeys(s.running) {
		js := s.running[id]
		if js.alloc == nil {
			continue
		}
		out := s.sitesOutOfPolicy(js)
		if len(out) == 0 {
			continue
		}
		sites := strings.Join(out, ", ")
		if s.fac.Policy.Outside != model.OutsideRequeue || js.stop != stopNone {
			then := "it runs on until it ends or is cancelled"
			if js.stop != stopNone {
				then = "it is being stopped already: " + map[string]string{stopPreempt: "preempted or requeued",
					stopCancel: "cancelled", stopFailure: "a replica failed or was lost"}[js.stop]
			}
			flags = append(flags, api.Event{Job: id, Tenant: js.doc.Tenant, Type: api.EventSovereignty, Actor: actorConfig,
				Message: fmt.Sprintf("runs in site %s, which the facility's policy no longer allows for it "+
					"(its tenant's, its own or its data class's jurisdictions); %s", sites, then)})
			s.log.Warn("a running job is outside the sites its policy allows", "job", id, "sites", out)
			continue
		}
		msg := fmt.Sprintf("requeued: ran in site %s, which the facility's policy no longer allows for it "+
			"(its tenant's, its own or its data class's jurisdictions; policy outside_jurisdiction: requeue)", sites)
		js.doc.State, js.doc.Message = api.StatePreempting, msg
		s.stopAttempt(js, stopPreempt, msg, s.graceOf(js.job), now, c)
		c.job(js, api.EventSovereignty, msg)
		c.events[len(c.events)-1].Actor = actorConfig // a consequence of the file, as the flags
		s.log.Warn("stopping a running job outside the sites its policy allows, to queue it again", "job", id, "sites", out)
	}
	return flags
}

// sitesOutOfPolicy lists the sites of js's live replicas that the
// facility's policy does not allow for it, each once.
func (s *Server) sitesOutOfPolicy(js *jobState) []string {
	tenant := s.fac.Tenant(js.job.Tenant)
	var out []string
	for i := range js.doc.Replicas {
		r := &js.doc.Replicas[i]
		n := s.nodes[r.Node]
		if !live(r) || n == nil || n.siteIdx < 0 || n.siteIdx >= len(s.fac.Sites) {
			continue
		}
		site := &s.fac.Sites[n.siteIdx]
		if !plan.SiteAllowed(s.fac, tenant, js.job, site) && !slices.Contains(out, site.ID) {
			out = append(out, site.ID)
		}
	}
	return out
}

// jobFromDoc rebuilds a job's core view from its stored spec, as an
// earlier version may have stored it (jobspec.Reload).
func jobFromDoc(doc *api.Job) (*jobState, error) {
	jobs, err := jobspec.Reload(doc.ID+".jsonl", doc.Spec)
	if err != nil {
		return nil, err
	}
	if len(jobs) != 1 {
		return nil, fmt.Errorf("spec holds %d jobs", len(jobs))
	}
	j := jobs[0]
	j.SubmitTime, j.SubmitOrder = model.TimeOf(doc.SubmitTime), int64(doc.SubmitTime.Nanosecond())
	return &jobState{job: j, doc: *doc, saved: doc.Usage}, nil
}

// restoreRanOn gives a reloaded job the nodes it had replicas on, as far
// as its document says: those of its last attempt and of the earlier
// ones it keeps (api.MaxPastAttempts).
func (s *Server) restoreRanOn(js *jobState) {
	for _, r := range js.doc.Replicas {
		s.ranOn(js, r.Node)
	}
	for _, p := range js.doc.PastAttempts {
		for _, node := range p.Nodes {
			s.ranOn(js, node)
		}
	}
}

// releasesReplicas reports whether reloaded job js is a running
// deployment that releases its ended replicas (restoreAlloc): not one
// whose replica reached its runtime limit.
func releasesReplicas(js *jobState) bool {
	atLimit := js.job.Kind == model.KindDeployment &&
		slices.ContainsFunc(js.doc.Replicas, func(r api.Replica) bool { return !r.Released && atRuntimeLimit(&r) })
	return js.job.Kind == model.KindDeployment && js.doc.State == api.StateRunning && !atLimit
}

// restoreAlloc gives a reloaded job its allocation back from its replicas.
func (s *Server) restoreAlloc(js *jobState) {
	a := &model.Allocation{Job: js.job}
	if js.doc.StartTime != nil {
		a.Started = model.TimeOf(*js.doc.StartTime)
	}
	// An ended replica's GPUs stay the job's until the attempt ends
	// (lifecycle.go gpuSeconds), unless a running deployment released
	// them: a gang's, and a stopping deployment's. A running
	// deployment's ended replica holds them only while it backs off
	// (older records do not say Released).
	// A deployment whose replica reached its runtime limit was stopping
	// the rest, replacing none (lifecycle.go replicaEnded).
	atLimit := js.job.Kind == model.KindDeployment &&
		slices.ContainsFunc(js.doc.Replicas, func(r api.Replica) bool { return !r.Released && atRuntimeLimit(&r) })
	runningDeployment := releasesReplicas(js)
	for _, r := range js.doc.Replicas {
		backingOff := r.ReplaceAt != nil && !r.Released
		if backingOff { // its GPUs stay the deployment's until then (backoff.go)
			s.backOff(js, r.Index, *r.ReplaceAt)
		}
		kept := runningDeployment && r.ReplaceAt == nil && s.mayStillRun(&r) // lost_rank.go
		if kept {
			if js.awaitNode == nil {
				js.awaitNode = map[int]bool{}
			}
			js.awaitNode[r.Index] = true
		}
		if !live(&r) && !backingOff && !kept && (r.Released || runningDeployment) {
			continue
		}
		pl := model.Placement{Node: r.Node, GPUs: r.GPUs, PowerCapW: r.PowerCapW, StartCapW: r.StartPowerCapW}
		if n := s.nodes[r.Node]; n != nil {
			n.jobs[js.doc.ID] = true
		}
		if runningDeployment && r.StopBy != nil && !r.Released { // taken by a partial preemption (partial.go)
			js.addPart(a.Started, []model.Placement{pl}, model.TimeOf(*r.StopBy), r.PreemptedFor)
			continue
		}
		a.Replicas = append(a.Replicas, pl)
	}
	js.alloc = a
	s.running[js.doc.ID] = js
	if len(js.doc.PowerWaits) > 0 {
		s.waiting[js.doc.ID] = js // a held start (capwait.go)
	}
	for _, r := range js.doc.Replicas {
		if r.PowerLimitW != nil && live(&r) {
			js.seeLimit(r.Index, limitSeen{err: toldBefore, told: true}) // powerlimit.go
		}
	}
	// The stop's reason is the job's message while it stops (a
	// preemption's or the policy's requeue; a cancel's is fixed).
	switch js.doc.State {
	case api.StatePreempting:
		js.stop, js.grace, js.stopMsg = stopPreempt, s.graceOf(js.job), js.doc.Message
	case api.StateCancelling:
		js.stop, js.grace, js.stopMsg = stopCancel, s.graceOf(js.job), "cancelled"
	}
	// A gang whose replica failed was stopping the rest (deployments'
	// replicas are independent): the first to fail is the cause, not
	// the first in the record, which may be one the stop then killed.
	if r := firstFailed(js.doc.Replicas); r != nil && js.job.Kind != model.KindDeployment {
		js.exitMsg, js.exitCode = fmt.Sprintf("replica %d %s", r.Index, replicaEnd(r)), exitCodeOf(r)
		if js.stop == stopNone {
			js.stop, js.grace, js.stopMsg = stopFailure, s.cfg.KillTimeout, js.exitMsg
		}
	}
	if atLimit && js.stop == stopNone {
		js.stop, js.grace, js.stopMsg = stopFinished, s.cfg.KillTimeout, "runtime limit reached"
	}
	if js.stop != stopNone {
		now := s.cfg.Now()
		if js.doc.StopBy != nil { // the grace left, not a new one (a checkpoint acknowledged: none)
			js.grace = max(0, js.doc.StopBy.Sub(now))
		}
		a.Terminating, a.EvictAt = true, model.TimeOf(now.Add(js.grace))
		a.PreemptedFor = js.doc.PreemptedFor // its beneficiary waits for it (a cancel since, too)
	}
}

// firstFailed is the replica of rs that failed first (ended, not with
// code 0): the earliest end, the first in the record among equal ends;
// nil when none failed.
func firstFailed(rs []api.Replica) *api.Replica {
	var first *api.Replica
	for i := range rs {
		r := &rs[i]
		if live(r) || !endedFailed(r) {
			continue
		}
		if first == nil || r.EndedAt != nil && (first.EndedAt == nil || r.EndedAt.Before(*first.EndedAt)) {
			first = r
		}
	}
	return first
}

// graceOf is the time a job's replicas get between SIGTERM and SIGKILL.
func (s *Server) graceOf(j *model.Job) time.Duration {
	if j.CheckpointGrace > 0 {
		return time.Duration(j.CheckpointGrace) * time.Second
	}
	return s.cfg.KillTimeout
}

// Handler serves the operator listener: every route of the API, the
// agents' routes, health and metrics, each behind authentication.
func (s *Server) Handler() http.Handler { return s.mux }

// TenantHandler serves the tenant API: every route but the operator-only
// ones (nodes, drain, metrics, the plan, the agents' routes), which it
// answers 404 pointing at the operator listener.
func (s *Server) TenantHandler() http.Handler { return s.tenant }

// Run runs the scheduler loop until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	s.ready = true
	s.mu.Unlock()
	s.Kick()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.endStreams()
			s.mu.Lock()
			defer s.mu.Unlock()
			s.stop()
			return s.saveUsage(context.Background())
		case <-s.kick:
		case <-t.C:
		}
		if s.pass(ctx) >= gapAfter {
			select {
			case <-ctx.Done():
			case <-time.After(s.cfg.PassGap):
			}
		}
		s.mu.Lock()
		failed := s.failed
		s.mu.Unlock()
		if failed != nil {
			// Memory may be ahead of the store: the caller builds a new
			// server from the store (New) and runs that one.
			s.endStreams()
			return fmt.Errorf("%w: %v", ErrCommitFailed, failed)
		}
		t.Reset(s.untilNextPass())
	}
}

// endStreams ends the streams the server serves: watches and followed
// logs. Their clients reconnect, to this server's successor.
func (s *Server) endStreams() {
	s.watch.close()
	s.endOnce.Do(func() { close(s.streamsDone) })
}

// stop marks the server stopped: not ready, and the agents' long polls
// are woken to hear so (handleAssignments). Caller holds mu.
func (s *Server) stop() {
	s.ready = false
	s.stopped = true
	for _, n := range s.nodes {
		n.wake()
	}
}

// Kick asks the loop for a pass soon.
func (s *Server) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// untilNextPass is the wait before the next timed pass.
func (s *Server) untilNextPass() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.cfg.PassInterval
	if hb := s.cfg.HeartbeatTimeout / 2; hb < d {
		d = hb
	}
	for _, at := range []time.Time{s.wake, s.nextRelease()} {
		if w := at.Sub(s.cfg.Now()); !at.IsZero() && w < d {
			d = max(w, 10*time.Millisecond)
		}
	}
	return d
}

// bump marks a node's assignments changed and wakes its long polls (and
// only its: with a thousand agents polling, a change wakes one).
// Caller holds mu.
func (s *Server) bump(node string) {
	if n := s.nodes[node]; n != nil {
		n.version++
		n.wake()
	}
}

// queueOp is one change to the loop's queue.
type queueOp struct {
	add    *model.Job // queue it
	remove string     // or take it out
}

// requeue makes the queue follow js: in it while js is pending (a
// deployment below its replica count included), out of it otherwise.
// The change reaches the queue at the next pass. Caller holds mu.
func (s *Server) requeue(js *jobState) {
	in := js.pending()
	if in == js.queued {
		return
	}
	js.queued = in
	if in {
		s.queueOps = append(s.queueOps, queueOp{add: js.job})
	} else {
		s.queueOps = append(s.queueOps, queueOp{remove: js.doc.ID})
	}
}

// initTokens sets up what authenticates API tokens: the hasher of
// s.cfg's token key, the previous keys' and the token cache.
func (s *Server) initTokens() error {
	h, err := auth.NewHasher(s.cfg.TokenKey)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.hasher, s.keyID, s.tokens.m = h, h.KeyID(), map[string]cachedToken{}
	if s.previous, err = previousHashers(s.cfg.PreviousTokenKeys, s.keyID); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}
