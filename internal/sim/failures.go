package sim

import (
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched"
)

// Node failures and repairs (Config.MTBF, Config.MTTR): each node fails
// after exponentially distributed times, the jobs on it stop and queue
// again, and it comes back after a repair.

// draw is an exponentially distributed duration of the given mean, at
// least one second.
func (t *twin) draw(mean model.Duration) model.Duration {
	return max(1, model.Duration(t.rng.ExpFloat64()*float64(mean)))
}

// fail takes a node down: the jobs on it stop and queue again, and it
// comes back after a repair.
func (t *twin) fail(node string, now model.Time) {
	st := t.state(node)
	if st.Condition == model.NodeDown || !t.goesOn() {
		return
	}
	var hit []*jobState
	for _, js := range t.run.jobs {
		for _, r := range js.alloc.Replicas {
			if r.Node == node {
				hit = append(hit, js)
				break
			}
		}
	}
	for _, js := range hit {
		if !js.running { // a part that left with its deployment
			continue
		}
		if js.of != nil { // replicas leaving for a preemption: they leave now
			t.evictPart(js, now)
			continue
		}
		js.rec.Failures++
		lost := t.interrupt(js, now)
		t.logf("%s fail-kill %s on %s (lost %s of work; %s left)\n", now, js.job.ID, node, lost, js.remaining)
	}
	st.Condition = model.NodeDown
	t.noted(node)
	t.down++
	t.led.nodeDown(node, now)
	t.logf("%s node-fail %s\n", now, node)
	t.q.pushNode(now.Add(t.draw(t.cfg.MTTR)), evRepair, node)
}

// repair brings a failed node back and, while the workload goes on,
// schedules its next failure.
func (t *twin) repair(node string, now model.Time) {
	st := t.state(node)
	st.Condition = model.NodeUp
	t.noted(node)
	t.led.nodeUp(node, now)
	t.logf("%s node-repair %s\n", now, node)
	t.down--
	if t.goesOn() { // once the workload is over, nodes only come back
		t.q.pushNode(now.Add(t.draw(t.cfg.MTBF)), evFail, node)
	}
}

// repairWaited reports whether a repair could let a waiting job start:
// whether the core, asked what it would do at now were every node and
// every GPU up, starts any (a what-if: its plan is not applied). A job
// that can never run (larger than its sites, beyond its quota) does not
// keep the run going until the failed nodes or GPUs are back.
func (t *twin) repairWaited(now model.Time) bool {
	snap := *t.snapshot(now)
	snap.Nodes = nil
	for _, n := range t.named {
		st := *t.nodes[n]
		if slices.ContainsFunc(st.GPUs, func(g model.GPUState) bool { return g.Down }) {
			st.GPUs = slices.Clone(st.GPUs) // the twin's own: not to be written
			for g := range st.GPUs {
				st.GPUs[g].Down = false
			}
		}
		if st.Condition == model.NodeUp {
			snap.Nodes = append(snap.Nodes, st)
		} else if slices.ContainsFunc(st.GPUs, func(g model.GPUState) bool { return g != model.GPUState{} }) {
			st.Condition = model.NodeUp
			snap.Nodes = append(snap.Nodes, st)
		}
	}
	for _, js := range t.queued() {
		snap.Pending = append(snap.Pending, js.job)
	}
	return len(sched.Schedule(&snap, now).Starts) > 0
}
