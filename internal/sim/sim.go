package sim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// Config is one simulation: a facility, a workload and the knobs of the
// progress model.
type Config struct {
	Facility *model.Facility
	// Jobs are the workload; each job's RuntimeLimit is also its true run
	// time at full speed (traces give the measured duration).
	Jobs []*model.Job
	Grid []model.GridSeries
	Seed int64
	// CheckpointInterval is how often a running job saves its progress; a
	// preempted job resumes from its last checkpoint. Default 1h.
	CheckpointInterval model.Duration
	// MaxPasses bounds the scheduling passes, as a guard; default 10M.
	MaxPasses int
	// Utilization is the share of TDP a busy, uncapped GPU draws; default
	// 0.8 (measured training peaks are ~76 % of an 8×H100 node's maximum,
	// ../shared/data/hardware.md).
	Utilization float64
	// OnPass, when set, sees every snapshot and the plan the core made
	// for it (tests use it to check that the twin only applies the core's
	// decisions). Both are valid only during the call.
	OnPass func(snap *model.Snapshot, p *model.Plan)
	// OnProgress, when set, is called every ProgressEvery instants of
	// virtual time handled and once at the end, with the virtual clock
	// and how many jobs have finished (for a progress line; it must not
	// change anything).
	OnProgress    func(now model.Time, finished, total int)
	ProgressEvery int // default 10,000
	// CapExponent shapes the power-capping slowdown: a GPU capped below
	// its uncapped draw (TDP × Utilization) runs at (cap / draw) ^
	// CapExponent of full speed, and a gang at its slowest GPU's speed.
	// Default 0.5; 1 makes speed proportional to power (see docs/twin.md
	// for the model and its sources).
	CapExponent float64
	// SpreadSlowdown is the share of speed a gang loses when its replicas
	// span more than one leaf switch (0: none).
	SpreadSlowdown float64
	// MTBF, when above zero, makes every node fail after exponentially
	// distributed times of mean MTBF (drawn from Seed); a failure kills
	// the jobs on the node, which lose the work since their last
	// checkpoint and queue again, and the node is down for an
	// exponentially distributed time of mean MTTR (default 4h).
	MTBF, MTTR model.Duration
	// GPUMTBF, when above zero, makes every GPU of every node fail on its
	// own (gpufail.go): the job on it is killed as by a node failure, and
	// the GPU is down for a time of mean GPUMTTR (default 24h) while its
	// node runs on. Drawn from Seed on a stream of their own.
	GPUMTBF, GPUMTTR model.Duration
	// PassDepth, when above zero, makes the passes between full passes
	// quick ones over the first PassDepth jobs of the queue (sched.Quick
	// with a depth, as Slurm's main scheduler between backfill cycles);
	// a full pass runs at most FullPassEvery apart (default 5m). Jobs
	// beyond the depth keep the reason of the last pass that saw them.
	// 0 (the default) makes every pass a full one.
	PassDepth     int
	FullPassEvery model.Duration
	// PassEvery, when above zero, is the least virtual time between two
	// scheduling passes: events still happen at their time (arrivals
	// queue, completions free their GPUs and stop drawing), but the core
	// runs at most once per PassEvery, as a scheduler with a fixed
	// interval would, so jobs start up to PassEvery later. It trades
	// fidelity to the live server, which runs a pass at every event, for
	// fewer passes on long traces. 0 (the default): a pass at every
	// instant where something happens.
	PassEvery model.Duration
}

// JobRecord is what happened to one job.
type JobRecord struct {
	Job            *model.Job
	FirstStart     model.Time // 0 if it never started
	End            model.Time // 0 if it never finished
	Preemptions    int
	Recaps         int     // times the core raised or lowered its power cap while it ran
	Failures       int     // times a node failure killed it
	GPUFailures    int     // times a GPU failure killed it
	GPUFailureLost float64 // the part of LostGPUSeconds that GPU failures threw away
	LostGPUSeconds float64 // GPU-seconds of work lost to preemptions and failures
	LastReason     string  // the core's reason the last time it waited
	Energy         Energy  // what its GPUs and its share of its nodes drew
	// Runs are the intervals it held GPUs, one per site and stretch of
	// constant draw, in time order (a preempted job has several).
	Runs []Stint
	// Deferrals counts the passes that deferred it to a cheaper, cleaner
	// hour; DeferredUntil is the last such hour.
	Deferrals     int
	DeferredUntil model.Time
}

// Stint is one stretch of a job on one site at constant draw.
type Stint struct {
	Site       string
	Start, End model.Time
	GPUs       int
	Capped     bool    // its GPUs ran under a power cap
	Speed      float64 // the job's speed in it (1: full speed; capped or spread, less)
	BusyW      float64 // what the site drew above idle for it (IT watts)
	ChargedW   float64 // BusyW plus its share of its nodes' base and idle power
}

// Result is the outcome of a run.
type Result struct {
	Jobs    []JobRecord // in workload order
	Passes  int
	Start   model.Time // the first event
	End     model.Time // the last event
	Sites   map[string]SiteEnergy
	Tenants map[string]Energy
	// Halls is each hall's highest IT draw, by hall ID (halls with nodes).
	Halls map[string]HallPower
	// Racks is each rack's highest IT draw, by rack ID, for the racks
	// with a power cap only.
	Racks map[string]HallPower
	// Outages are the stretches nodes were down (Config.MTBF), in the
	// order they began; one still down at the end ends with the run.
	Outages []Outage
	// GPUOutages are the stretches single GPUs were down
	// (Config.GPUMTBF), in the order they began, ended as Outages are.
	GPUOutages []GPUOutage
}

// Outage is a node down: its site did not draw its base and idle power.
type Outage struct {
	Node, Site string
	Start, End model.Time
	StaticW    float64 // the node's base power and its GPUs' idle power
}

// HallPower is a hall's (or a rack's) highest IT draw over the run: its nodes' base
// and idle power plus what the jobs on them draw above idle, measured by
// the ledger event by event, as a site's MaxITW is.
type HallPower struct {
	MaxITW float64
}

// SiteEnergy is a site's energy over the run: all of it, the part charged
// to jobs and the rest (idle), and its highest IT draw.
type SiteEnergy struct {
	All, Jobs, Idle Energy
	MaxITW          float64
}

// jobState is a job in the twin.
type jobState struct {
	job       *model.Job
	rec       *JobRecord
	remaining model.Duration // work left at full speed when the current run started
	speed     float64        // share of full speed of the current run, now
	// paces are the current run's stretches at one speed once a recap
	// changed its speed (see workBy); none before
	paces    []pace
	capped   bool // running with a capped replica (twin.capped)
	running  bool
	pending  bool
	alloc    model.Allocation
	epoch    int
	events   int   // its completion and eviction of this epoch still in the queue
	queued   bool  // in the twin's queue (a running deployment may be too)
	queuedAt int64 // its place in the order jobs were queued
	runSeq   int64 // its place in the order running jobs started
	// scaled lists a deployment's scale-ups of the current run (when,
	// and how many GPUs): its replicas held GPUs from different times,
	// which its usage and its lost work count apart (heldSince).
	scaled []gpusAt
	// part, on a deployment, is its replicas leaving for a partial
	// preemption, until their eviction; of, on such a part, is the
	// deployment (partial.go)
	part, of *jobState
	// deps counts the jobs of its DependsOn not completed yet; held: it
	// arrived and waits for them, out of the queue; dependents are the
	// jobs that depend on it (Job.DependsOn)
	deps       int
	held       bool
	dependents []*jobState
}

// setCapped records whether running job js has a capped replica.
func (t *twin) setCapped(js *jobState, capped bool) {
	if capped != js.capped {
		js.capped = capped
		if capped {
			t.capped++
		} else {
			t.capped--
		}
	}
}

// pace is a stretch of a run at one speed from at, with done seconds of
// full-speed work behind it.
type pace struct {
	at    model.Time
	speed float64
	done  float64
}

// workBy is the full-speed work the current run has done by at.
func (js *jobState) workBy(at model.Time) float64 {
	if len(js.paces) == 0 { // no recap: one speed since the start
		return float64(at-js.alloc.Started) * js.speed
	}
	for i := len(js.paces) - 1; i >= 0; i-- {
		if p := js.paces[i]; p.at <= at {
			return p.done + float64(at-p.at)*p.speed
		}
	}
	return 0
}

// gpusAt is GPUs a run added at an instant.
type gpusAt struct {
	at   model.Time
	gpus int
}

// heldSince sums GPU × seconds of js's current run from when each of
// its GPUs was taken, or from from when that is later.
func (js *jobState) heldSince(from, now model.Time) float64 {
	added := 0
	s := 0.0
	for _, a := range js.scaled {
		added += a.gpus
		s += float64(a.gpus) * float64(now.Sub(max(a.at, from)))
	}
	return s + float64(allocGPUs(&js.alloc)-added)*float64(now.Sub(max(js.alloc.Started, from)))
}

// enqueue counts js among the queued jobs, after those queued before,
// and adds it to the core's Queue. The queued jobs are the core's queue:
// the jobs a plan starts or explains are looked up among them, in a map
// the size of the queue rather than of the workload (byID).
func (t *twin) enqueue(js *jobState) {
	if js.queued { // a deployment already waiting for more replicas
		return
	}
	t.queueSeq++
	js.queued, js.queuedAt = true, t.queueSeq
	t.waiting[js.job.ID] = js
	t.queue.Add(js.job)
}

// dequeue takes a job out of the queued ones and the core's Queue.
func (t *twin) dequeue(js *jobState) {
	if js.queued {
		js.queued = false
		delete(t.waiting, js.job.ID)
		t.queue.Remove(js.job.ID)
	}
}

// queued lists the jobs still queued, in the order they were queued.
func (t *twin) queued() []*jobState {
	var out []*jobState
	for _, js := range t.waiting {
		out = append(out, js)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].queuedAt < out[b].queuedAt })
	return out
}

type twin struct {
	cfg      Config
	q        queue
	log      io.Writer
	byID     map[string]*jobState
	waiting  map[string]*jobState // jobs queued: arrived or interrupted, not started since
	queueSeq int64                // numbers jobs in the order they were queued
	run      runningList          // the running jobs, in the snapshot's order
	nodes    map[string]*model.NodeState
	usage    logged[model.Usage] // by tenant, sorted: the snapshot's
	usageAt  map[string]int      // tenant → index in usage.s
	recent   []model.Time
	// capped counts the running jobs with a capped replica; freed says
	// that a job stopped since the last pass: a pass then runs even with
	// no job waiting, so that the core may raise their caps
	capped   int
	freed    bool
	res      *Result
	gpus     map[string]int               // node → GPU count
	claims   map[string][]model.Placement // beneficiary → GPUs claimed for it
	led      *ledger
	queue    *sched.Queue // the pending jobs, in the core's order
	named    []string     // nodes with a state, sorted
	relist   bool         // a node's state changed: the snapshot lists them anew
	snap     model.Snapshot
	plan     model.Plan // the last pass's (a field: handed on by pointer, it would escape)
	verify   *verifier
	finished int
	live     bool                // something changed at the current instant
	rng      *rand.Rand          // node failures
	nextFull model.Time          // with PassDepth: when the next full pass is due
	down     int                 // nodes failed and not yet repaired
	wakes    map[model.Time]bool // instants a wake-up is queued for
	lastPass model.Time          // when the last pass ran (Config.PassEvery)
	failing  []event             // the failures of the current instant, handled last
	gpuFails gpuFailures         // single GPUs failed (gpufail.go)
}

// Run simulates cfg to the end and writes the event log to log (nil
// discards it). It returns an error only for a bug: a plan that fails
// plan.Verify, or a run that does not end. Plans are verified on a second
// goroutine, in batches of a few passes behind the engine.
func Run(cfg Config, log io.Writer) (*Result, error) {
	if cfg.Facility == nil {
		return nil, errors.New("sim: no facility")
	}
	if len(cfg.Jobs) == 0 {
		return nil, errors.New("sim: no jobs to replay")
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = model.Hour
	}
	if cfg.Utilization <= 0 || cfg.Utilization > 1 {
		cfg.Utilization = 0.8
	}
	if cfg.MaxPasses <= 0 {
		cfg.MaxPasses = 10_000_000
	}
	if cfg.CapExponent <= 0 {
		cfg.CapExponent = 0.5
	}
	if cfg.MTTR <= 0 {
		cfg.MTTR = 4 * model.Hour
	}
	if cfg.GPUMTTR <= 0 {
		cfg.GPUMTTR = 24 * model.Hour
	}
	if cfg.FullPassEvery <= 0 {
		cfg.FullPassEvery = 5 * model.Minute
	}
	if cfg.CapExponent > 4 {
		return nil, fmt.Errorf("sim: capping exponent %g must lie in (0, 4]", cfg.CapExponent)
	}
	if !(cfg.SpreadSlowdown >= 0 && cfg.SpreadSlowdown < 1) {
		return nil, fmt.Errorf("sim: spread slowdown %g must lie in [0, 1)", cfg.SpreadSlowdown)
	}
	if log == nil {
		log = io.Discard
	}
	t := &twin{cfg: cfg, log: log, byID: map[string]*jobState{}, nodes: map[string]*model.NodeState{},
		usageAt: map[string]int{}, res: &Result{Jobs: make([]JobRecord, len(cfg.Jobs))}}
	t.waiting = map[string]*jobState{}
	t.run.every = cfg.CheckpointInterval
	t.gpus, t.claims = map[string]int{}, map[string][]model.Placement{}
	t.queue = sched.NewQueue(cfg.Facility, nil)
	for i := range cfg.Facility.Nodes {
		t.gpus[cfg.Facility.Nodes[i].Name] = cfg.Facility.Nodes[i].GPUs
	}
	arrivals := make([]arrival, len(cfg.Jobs))
	for i, j := range cfg.Jobs {
		if _, dup := t.byID[j.ID]; dup {
			return nil, fmt.Errorf("sim: job %s appears twice in the workload", j.ID)
		}
		if j.SubmitTime <= 0 { // time 0 is "never" in the results
			return nil, fmt.Errorf("sim: job %s has no submit time; the twin submits each job at its SubmitTime", j.ID)
		}
		t.res.Jobs[i].Job = j
		js := &jobState{job: j, rec: &t.res.Jobs[i], remaining: j.RuntimeLimit}
		t.byID[j.ID] = js
		arrivals[i] = arrival{j.SubmitTime, js}
	}
	if err := t.linkDeps(); err != nil {
		return nil, err
	}
	t.q.arrive(arrivals)
	if !t.q.empty() {
		t.res.Start = t.q.peek()
	}
	t.led = newLedger(t, t.res.Start)
	if cfg.MTBF > 0 {
		t.rng = rand.New(rand.NewPCG(uint64(cfg.Seed), 0xfa11))
		for i := range cfg.Facility.Nodes {
			t.q.pushNode(t.res.Start.Add(t.draw(cfg.MTBF)), evFail, cfg.Facility.Nodes[i].Name)
		}
	}
	t.startGPUFailures()
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 10_000
	}
	instants := 0
	t.verify = newVerifier(cfg.Facility)
	// The run goes on while events of the workload are due, or jobs wait
	// for failed nodes or GPUs to come back (repairWaited).
	last := t.q.peek() // the instant before this one
	for t.q.work > 0 || (t.down > 0 || t.gpuFails.down > 0) && len(t.waiting) > 0 && t.repairWaited(last) {
		now := t.q.peek()
		if now > model.MaxTime {
			return t.res, t.stopped(t.pastMaxTime(now))
		}
		last = now
		if instants++; cfg.OnProgress != nil && instants%cfg.ProgressEvery == 0 {
			cfg.OnProgress(now, t.finished, len(cfg.Jobs))
		}
		t.live = false
		for !t.q.empty() && t.q.peek() == now {
			if e := t.q.pop(); e.kind == evFail || e.kind == evGPUFail {
				t.failing = append(t.failing, e)
			} else {
				t.event(e, now)
			}
		}
		// Failures come after the other events of their instant,
		// whatever the order they were queued in: a job that completes
		// or is evicted at that second does so, and a failure once the
		// workload's events are over does not happen.
		for _, e := range t.failing {
			t.event(e, now)
		}
		t.failing = t.failing[:0]
		if t.passDue(now) {
			if err := t.pass(now); err != nil {
				return t.res, t.stopped(err)
			}
		}
		if t.live {
			t.res.End = now
		}
	}
	if err := t.verify.close(); err != nil {
		return t.res, err
	}
	if cfg.OnProgress != nil {
		cfg.OnProgress(t.res.End, t.finished, len(cfg.Jobs))
	}
	for _, js := range append([]*jobState(nil), t.run.jobs...) {
		t.led.stopped(js, t.res.End) // still running (deployments): charged to the end
	}
	for _, js := range t.queued() {
		switch {
		case js.running:
			continue // a deployment that did not reach its replica count
		case js.rec.FirstStart > 0: // ran, was evicted or killed, and waits again
			t.logf("%s unfinished %s: %s\n", t.res.End, js.job.ID, js.rec.LastReason)
		default:
			t.logf("%s never-started %s: %s\n", t.res.End, js.job.ID, js.rec.LastReason)
		}
	}
	for i := range t.res.Outages {
		if o := &t.res.Outages[i]; o.End == 0 {
			o.End = max(o.Start, t.res.End) // still down when the run ended
		}
	}
	for i := range t.res.GPUOutages {
		if o := &t.res.GPUOutages[i]; o.End == 0 {
			o.End = max(o.Start, t.res.End)
		}
	}
	t.res.Sites, t.res.Tenants = map[string]SiteEnergy{}, map[string]Energy{}
	for _, id := range t.led.ids {
		si := t.led.sites[id]
		t.res.Sites[id] = SiteEnergy{All: si.all, Jobs: si.jobs, Idle: si.idle, MaxITW: si.maxW}
	}
	t.res.Halls = map[string]HallPower{}
	for id, hi := range t.led.halls {
		t.res.Halls[id] = HallPower{MaxITW: hi.maxW}
	}
	t.res.Racks = map[string]HallPower{}
	for id, ri := range t.led.racks {
		t.res.Racks[id] = HallPower{MaxITW: ri.maxW}
	}
	for name, e := range t.led.tenants {
		t.res.Tenants[name] = *e
	}
	return t.res, nil
}

// stopped ends a run that stops for err (the pass limit, or the
// verifier's failure that submit found): it waits for the checks still
// queued, and a failure among them, a bug in a plan made before the run
// stopped, comes first, with err after it.
func (t *twin) stopped(err error) error {
	verr := t.verify.close()
	if verr == nil || verr == err {
		return err
	}
	return errors.Join(verr, err)
}

// passDue reports whether a pass may run at now (Config.PassEvery);
// when it may not, a wake-up brings the pass this instant would have had
// once it may.
func (t *twin) passDue(now model.Time) bool {
	next := t.lastPass.Add(t.cfg.PassEvery)
	if t.cfg.PassEvery <= 0 || t.res.Passes == 0 || now >= next {
		return true
	}
	if len(t.waiting) > 0 || t.mayRecap() {
		t.wake(next)
	}
	return false
}

// moot reports whether an event changes nothing: a completion or an
// eviction that a later decision made stale, a wake-up (the pass it
// brings about may still change something), or a node or GPU failure
// once the workload is over (a GPU's on a node down too).
func (t *twin) moot(e event) bool {
	switch e.kind {
	case evCompletion, evEviction:
		return !e.job.running || e.epoch != e.job.epoch
	case evWake:
		return true
	case evArrival:
		return e.job.deps > 0 // held for its dependencies: nothing to schedule
	case evFail:
		return !t.goesOn()
	case evGPUFail:
		return !t.goesOn() || t.nodeDown(e.node) // on a node down, it does not happen
	}
	return false
}

// goesOn reports whether the workload is not over: events of it are to
// come, or jobs wait to run (a job killed by a failure, waiting for the
// repair, with nothing else running). Nodes fail as long as it is not.
// Counting only the events to come, the twin took the instant a failure
// killed the last running job for the end of the workload: from then on
// no node failed again, the repaired ones included
// (TestNodesFailWhileAJobWaitsForRepair).
func (t *twin) goesOn() bool { return t.q.work > 0 || len(t.waiting) > 0 }

// happen marks the instant now as one where something changes: the
// ledger integrates the draw up to it, and the run lasts at least until
// it. An instant where nothing changes (only moot events, and a pass
// that starts and preempts nothing) is not one of the run's: counted,
// a stale eviction or wake-up after the last completion would stretch
// the run's end, and with it the idle energy and the span that
// utilization is measured over.
func (t *twin) happen(now model.Time) {
	if !t.live {
		t.led.advance(now)
		t.live = true
	}
}

// event handles e at now, marking now as an instant of the run unless e
// changes nothing.
func (t *twin) event(e event, now model.Time) {
	if !t.moot(e) {
		t.happen(now)
	}
	t.handle(e, now)
}

func (t *twin) handle(e event, now model.Time) {
	js := e.job
	switch e.kind {
	case evArrival:
		if js.deps > 0 {
			t.hold(js, now)
			return
		}
		js.pending = true
		t.enqueue(js)
		t.logf("%s arrive %s\n", now, js.job.ID)
	case evCompletion:
		if !js.running || e.epoch != js.epoch {
			return
		}
		t.complete(js, now)
	case evEviction:
		if !js.running || e.epoch != js.epoch {
			return
		}
		if js.of != nil {
			t.evictPart(js, now)
			return
		}
		t.evict(js, now)
	case evWake:
		delete(t.wakes, now)
	case evFail:
		t.fail(e.node, now)
	case evRepair:
		t.repair(e.node, now)
	case evGPUFail:
		t.gpuFail(e.node, e.gpu, now)
	case evGPURepair:
		t.gpuRepair(e.node, e.gpu, now)
	}
}

// complete ends a running job whose work is done.
func (t *twin) complete(js *jobState, now model.Time) {
	t.stop(js, now)
	js.remaining = 0
	js.rec.End = now
	t.finished++
	t.logf("%s complete %s\n", now, js.job.ID)
	t.release(js, now)
}

// evict ends a preempted job's run at the end of its notice: its GPUs
// are claimed for the beneficiary (stop), and it queues again.
func (t *twin) evict(js *jobState, now model.Time) {
	js.rec.Preemptions++
	lost := t.interrupt(js, now)
	t.logf("%s evict %s (lost %s of work; %s left)\n", now, js.job.ID, lost, js.remaining)
}

// logf writes a line of the event log; a run without a log skips the
// formatting.
func (t *twin) logf(format string, args ...any) {
	if t.log != io.Discard {
		fmt.Fprintf(t.log, format, args...)
	}
}

// interrupt stops a running job that has not finished, keeps the work up
// to its last checkpoint and queues it again; it returns the wall time of
// work lost. A deployment (long-running inference) has no training
// progress to lose: the time it served counts whole, and it loses
// nothing (its lost GPU-hours stay 0); what an interruption costs it is
// the time it waits to be served again.
func (t *twin) interrupt(js *jobState, now model.Time) model.Duration {
	ran := now.Sub(js.alloc.Started)
	saved := ran - ran%t.cfg.CheckpointInterval
	if js.job.Kind == model.KindDeployment {
		saved = ran
	}
	lost := ran - saved
	js.remaining = max(0, js.remaining-model.Duration(math.Floor(js.workBy(js.alloc.Started.Add(saved)))))
	js.rec.LostGPUSeconds += js.heldSince(js.alloc.Started.Add(saved), now)
	t.stop(js, now)
	js.pending = true
	t.enqueue(js)
	return lost
}

// stop ends a running job's allocation and charges its usage. A job
// under a preemption notice leaves its GPUs claimed for its beneficiary
// however its run ends (evicted, killed by a node failure, or done),
// as the live server claims them: killed inside its notice, it left
// them to whoever came first, and the beneficiary lost the room it had
// preempted for.
func (t *twin) stop(js *jobState, now model.Time) {
	t.stopPart(js, now)
	if a := &js.alloc; a.Terminating && a.PreemptedFor != "" {
		for _, r := range a.Replicas {
			t.claim(r, a.PreemptedFor)
		}
	}
	t.dequeue(js) // a deployment waiting to scale up
	t.led.stopped(js, now)
	t.charge(js.job.Tenant, js.heldSince(js.alloc.Started, now), now)
	js.running = false
	t.setCapped(js, false)
	t.freed = true
	js.scaled = js.scaled[:0]
	js.epoch++
	t.q.stale(js)
	t.run.remove(js)
	js.alloc = model.Allocation{} // a gang's placements are large: let them go
}

func allocGPUs(a *model.Allocation) int { return placedGPUs(a.Replicas) }

// placedGPUs counts the GPUs of placements.
func placedGPUs(rs []model.Placement) int {
	n := 0
	for _, r := range rs {
		n += len(r.GPUs)
	}
	return n
}

// charge adds GPU-seconds to a tenant's usage, decayed the way the core
// reads it.
func (t *twin) charge(tenant string, gpuSeconds float64, now model.Time) {
	i, ok := t.usageAt[tenant]
	if !ok { // a new tenant: rare, so the index is renumbered from there
		i, _ = slices.BinarySearchFunc(t.usage.s, tenant, func(u model.Usage, name string) int {
			return strings.Compare(u.Tenant, name)
		})
		t.usage.insert(i, model.Usage{Tenant: tenant, AsOf: now})
		for k := i; k < len(t.usage.s); k++ {
			t.usageAt[t.usage.s[k].Tenant] = k
		}
	}
	u := t.usage.s[i]
	u.GPUSeconds = u.At(now, t.cfg.Facility.Policy.FairShareHalfLife)
	u.AsOf = now
	u.GPUSeconds += gpuSeconds
	t.usage.set(i, u)
}

// claim marks an evicted victim's GPUs as freed for the beneficiary, as
// the live server does (only for a beneficiary still pending); the twin
// scrubs instantly, so they are clean.
//
// A node's GPU states are copied before a change (here and in unclaim):
// snapshots, and the verifier's copies of them, share the slices, so the
// twin never writes into one it has listed.
func (t *twin) claim(r model.Placement, beneficiary string) {
	if b := t.byID[beneficiary]; beneficiary == "" || b == nil || !b.queued {
		return
	}
	st := t.state(r.Node)
	st.GPUs = slices.Clone(st.GPUs)
	for _, g := range r.GPUs {
		if g < len(st.GPUs) {
			st.GPUs[g] = model.GPUState{ClaimedBy: beneficiary, Down: st.GPUs[g].Down}
		}
	}
	t.noted(r.Node)
	t.claims[beneficiary] = append(t.claims[beneficiary], r)
}

// unclaim drops what was claimed for a job that has now started.
func (t *twin) unclaim(job string) {
	for _, r := range t.claims[job] {
		st := t.state(r.Node)
		st.GPUs = slices.Clone(st.GPUs)
		for _, g := range r.GPUs {
			if g < len(st.GPUs) && st.GPUs[g].ClaimedBy == job {
				st.GPUs[g].ClaimedBy = ""
			}
		}
		t.noted(r.Node)
	}
	delete(t.claims, job)
}

func (t *twin) state(node string) *model.NodeState {
	st := t.nodes[node]
	if st == nil {
		st = &model.NodeState{Node: node, Condition: model.NodeUp, GPUs: make([]model.GPUState, max(0, t.gpus[node]))}
		t.nodes[node] = st
	}
	return st
}

// noted updates whether node is among the named nodes, those whose state
// the snapshot lists: the ones down or with a GPU claimed. A node up and
// clean is left out, as the core reads a missing state the same way.
func (t *twin) noted(node string) {
	t.relist = true
	st := t.nodes[node]
	plain := st == nil || st.Condition == model.NodeUp
	for g := 0; plain && g < len(st.GPUs); g++ {
		plain = st.GPUs[g] == model.GPUState{}
	}
	i, listed := sort.Find(len(t.named), func(i int) int { return strings.Compare(node, t.named[i]) })
	switch {
	case plain && listed:
		t.named = slices.Delete(t.named, i, i+1)
	case !plain && !listed:
		t.named = slices.Insert(t.named, i, node)
	}
}

// snapshot is the twin's state as the core sees it. It reuses one
// snapshot's slices from pass to pass, and shares the twin's running
// allocations and usage: a snapshot is valid until the next pass. Only
// what changed since the last pass is brought up to date.
func (t *twin) snapshot(now model.Time) *model.Snapshot {
	s := &t.snap
	s.Facility, s.Grid, s.Seed = t.cfg.Facility, t.cfg.Grid, t.cfg.Seed
	if t.relist {
		s.Nodes = s.Nodes[:0]
		for _, n := range t.named {
			s.Nodes = append(s.Nodes, *t.nodes[n])
		}
		t.relist = false
	}
	t.run.advance(now)
	s.Running = t.run.allocs.s
	s.Usage = t.usage.s
	// Preemptions older than the rate limit's window never count again
	// (the clock only moves on), as the live server forgets them.
	if w := t.cfg.Facility.Policy.PreemptionWindow; len(t.recent) > 0 {
		i := sort.Search(len(t.recent), func(i int) bool { return now.Sub(t.recent[i]) < w })
		t.recent = append(t.recent[:0], t.recent[i:]...)
	}
	s.RecentPreemptions = append(s.RecentPreemptions[:0], t.recent...)
	s.Pending = nil
	return s
}
