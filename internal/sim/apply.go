package sim

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// pass runs the core once at now and applies its plan.
func (t *twin) pass(now model.Time) error {
	if len(t.waiting) == 0 && !t.mayRecap() {
		return nil
	}
	t.freed = false
	t.res.Passes++
	t.lastPass = now
	if t.res.Passes > t.cfg.MaxPasses {
		return fmt.Errorf("sim: more than %d scheduling passes at %s, %d of %d jobs finished: the limit guards against runs that never end; raise it (max_passes in a scenario set, --max-passes of carnot sim) if this one should",
			t.cfg.MaxPasses, now, t.finished, len(t.cfg.Jobs))
	}
	snap := t.snapshot(now)
	// Quick without a depth limit is exactly Schedule over the queue's
	// jobs; the queue is kept between passes, and so is the facility's
	// prepared view, instead of being rebuilt at every instant.
	depth := 0
	if t.cfg.PassDepth > 0 && now < t.nextFull {
		depth = t.cfg.PassDepth
	}
	var considered []*model.Job
	t.plan, considered = sched.Quick(snap, t.queue, now, depth)
	p := &t.plan
	if depth == 0 {
		t.nextFull = now.Add(t.cfg.FullPassEvery)
	}
	snap.Pending = considered
	if err := t.verify.submit(snap, p, delta{running: t.run.allocs.log, usage: t.usage.log}); err != nil {
		return err
	}
	t.run.allocs.taken()
	t.usage.taken()
	if t.cfg.OnPass != nil {
		t.cfg.OnPass(snap, p)
	}
	if len(p.Starts) > 0 || len(p.Preemptions) > 0 {
		t.happen(now)
	}
	for _, st := range p.Starts {
		js := t.waiting[st.Job]
		t.start(js, st, now)
		if !t.scalesUp(js) {
			t.dequeue(js)
		}
	}
	for i := range p.Preemptions {
		pr := &p.Preemptions[i]
		v := t.byID[pr.Victim]
		if pr.Partial() {
			t.takeReplicas(v, pr, now)
			t.recent = append(t.recent, now)
			continue
		}
		v.alloc.Terminating, v.alloc.EvictAt, v.alloc.PreemptedFor = true, pr.EvictAt, pr.Beneficiary
		t.run.update(v)
		t.recent = append(t.recent, now)
		t.q.push(pr.EvictAt, evEviction, v, v.epoch)
		t.logf("%s preempt %s for %s: %s (evict at %s)\n", now, pr.Victim, pr.Beneficiary, pr.Reason, pr.EvictAt)
	}
	if len(p.Recaps) > 0 {
		t.happen(now)
	}
	for _, rc := range p.Recaps {
		t.recap(t.byID[rc.Job], rc.PowerCapW, now)
	}
	for _, d := range p.Deferrals {
		t.wake(d.Until)
		if js := t.byID[d.Job]; js != nil {
			js.rec.Deferrals++
			js.rec.DeferredUntil = d.Until
		}
		t.logf("%s defer %s until %s\n", now, d.Job, d.Until)
	}
	for _, pe := range p.Pending {
		js := t.waiting[pe.Job]
		js.rec.LastReason = pe.Message
		if pe.Code == model.ReasonNotBefore && pe.EstStart > now {
			t.wake(pe.EstStart)
		}
	}
	// Jobs beyond a quick pass's depth wait for the next full pass,
	// due at nextFull: when nothing happens before then, a wake-up
	// brings it, or a run whose events are over would end with them
	// never considered. (A quick pass that saw every waiting job
	// decided what a full one would.)
	if depth > 0 && len(considered) < len(t.waiting) && (t.q.empty() || t.q.peek() > t.nextFull) {
		t.wake(t.nextFull)
	}
	return nil
}

// start puts a job on the nodes the plan chose and schedules its
// completion after the work it has left.
func (t *twin) start(js *jobState, st model.Start, now model.Time) {
	if js.running { // a deployment scaling up: keep one allocation
		t.unclaim(js.job.ID)
		js.scaled = append(js.scaled, gpusAt{now, placedGPUs(st.Replicas)})
		t.replace(js, slices.Concat(js.alloc.Replicas, st.Replicas), now)
		note := capNote(st)
		if speed := t.speedOf(js.job, js.alloc.Replicas); speed != js.speed { // a capped or spread replica
			t.respeed(js, speed, now)
			note += fmt.Sprintf(" at %.3f speed", speed)
		}
		t.logf("%s start %s on %s%s\n", now, js.job.ID, placements(st.Replicas), note)
		return
	}
	js.pending, js.running = false, true
	js.alloc = model.Allocation{Job: js.job, Started: now, Replicas: st.Replicas}
	js.epoch++
	if js.rec.FirstStart == 0 {
		js.rec.FirstStart = now
	}
	t.unclaim(js.job.ID)
	t.run.add(js)
	t.led.started(js, now)
	js.speed = t.speedOf(js.job, st.Replicas)
	js.paces = js.paces[:0] // one pace, at js.speed from the start, until a recap
	t.setCapped(js, model.AnyCapped(st.Replicas))
	if js.job.RuntimeLimit > 0 {
		t.q.push(after(now, float64(js.remaining)/js.speed), evCompletion, js, js.epoch)
	}
	if t.log == io.Discard {
		return
	}
	caps := capNote(st)
	if js.speed < 1 {
		caps += fmt.Sprintf(" at %.3f speed", js.speed)
	}
	t.logf("%s start %s on %s%s\n", now, js.job.ID, placements(st.Replicas), caps)
}

// replace gives running job js the placements reps from now: its stint
// at the old draw ends and one at the new draw begins. reps must be a new
// slice: the core, the checker and the verifier's copies tell a changed
// allocation by it, and hold the old one.
func (t *twin) replace(js *jobState, reps []model.Placement, now model.Time) {
	t.led.stopped(js, now)
	js.alloc.Replicas = reps
	t.setCapped(js, model.AnyCapped(reps))
	t.run.update(js)
	t.led.started(js, now)
}

// mayRecap reports whether a pass with no job waiting may still change
// something: jobs run capped, power was freed since the last pass, and
// the policy raises caps.
func (t *twin) mayRecap() bool {
	return t.freed && t.capped > 0 && t.cfg.Facility.Policy.Lends()
}

// recap runs a job's replicas at a new cap from now (0 = uncapped),
// raised on lent power or lowered to give it back: its draw and its
// speed change, and with it when it completes.
func (t *twin) recap(js *jobState, capW int, now model.Time) {
	reps := make([]model.Placement, len(js.alloc.Replicas))
	for i, r := range js.alloc.Replicas {
		reps[i] = r.Recapped(capW)
	}
	t.replace(js, reps, now)
	t.respeed(js, t.speedOf(js.job, reps), now)
	js.rec.Recaps++
	if t.log == io.Discard {
		return
	}
	what := "TDP"
	if capW > 0 {
		what = fmt.Sprintf("%d W", capW)
	}
	t.logf("%s recap %s to %s at %.3f speed\n", now, js.job.ID, what, js.speed)
}

// respeed runs js at speed from now (a recap, or a deployment's new
// replicas): the work done so far counts at the speeds in force until
// now, and its completion moves.
func (t *twin) respeed(js *jobState, speed float64, now model.Time) {
	done := js.workBy(now)
	if len(js.paces) == 0 {
		js.paces = append(js.paces, pace{at: js.alloc.Started, speed: js.speed})
	}
	js.speed = speed
	js.paces = append(js.paces, pace{at: now, speed: js.speed, done: done})
	t.q.stale(js) // the completion due at the old speed, and a victim's eviction
	js.epoch++
	if js.job.RuntimeLimit > 0 {
		left := math.Max(0, float64(js.remaining)-done)
		t.q.push(after(now, left/js.speed), evCompletion, js, js.epoch)
	}
	if js.alloc.Terminating { // a victim giving its lent power back: still evicted then
		t.q.push(js.alloc.EvictAt, evEviction, js, js.epoch)
	}
}

// capNote is the event log's note of a start's power cap.
func capNote(st model.Start) string {
	if len(st.Replicas) > 0 && st.Replicas[0].PowerCapW > 0 {
		return fmt.Sprintf(" capped at %d W", st.Replicas[0].PowerCapW)
	}
	return ""
}

// scalesUp reports whether js is a deployment running fewer replicas
// than it asks for: as on the live server, it stays queued, and the core
// scales it up when room appears.
func (t *twin) scalesUp(js *jobState) bool {
	return js.running && js.job.Kind == model.KindDeployment && len(js.alloc.Replicas) < js.job.Replicas
}

// speedOf is the share of full speed a job runs at on its placements:
// the slowest GPU's under its power cap, less the spread slowdown for a
// gang over more than one leaf. See Config.CapExponent.
func (t *twin) speedOf(j *model.Job, reps []model.Placement) float64 {
	speed := 1.0
	first, seen, spread := "", false, false // the first leaf; whether another differs
	for _, r := range reps {
		n := t.led.nodes[r.Node]
		if n == nil {
			continue
		}
		leaf := n.Leaf
		if leaf == "" {
			leaf = n.Rack
		}
		if !seen {
			first, seen = leaf, true
		}
		spread = spread || leaf != first
		if r.PowerCapW <= 0 || len(r.GPUs) == 0 {
			continue
		}
		draw := float64(t.cfg.Facility.GPUModels[n.GPUModel].TDPWatts) * t.cfg.Utilization
		if c := float64(r.PowerCapW); c < draw {
			speed = math.Min(speed, math.Pow(c/draw, t.cfg.CapExponent))
		}
	}
	if spread && j.Replicas > 1 {
		speed *= 1 - t.cfg.SpreadSlowdown
	}
	return speed
}

func placements(rs []model.Placement) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s:%v", r.Node, r.GPUs)
	}
	return s
}

// wake makes sure a pass runs at the given instant: one wake-up per
// instant, however many passes ask for it (a job deferred or not yet
// startable is explained again by every pass until then).
func (t *twin) wake(at model.Time) {
	if t.wakes[at] {
		return
	}
	if t.wakes == nil {
		t.wakes = map[model.Time]bool{}
	}
	t.wakes[at] = true
	t.q.push(at, evWake, nil, 0)
}
