package sim

import (
	"github.com/carnot-dc/carnot/internal/model"
)

// A partial preemption (model.Preemption.Replicas) takes some replicas of
// a running deployment: at the notice they leave its allocation for a
// part of their own (a jobState of the same job and record, part), which
// runs, draws and is listed in the snapshot as a terminating allocation
// (of model.LeavingJob) until its eviction, when its GPUs are claimed for the beneficiary. The
// deployment runs on with the others, at the speed they give it, and,
// below its replica count, is queued to scale up again, as on the live
// server.

// takeReplicas applies partial preemption pr of running deployment js
// at now.
func (t *twin) takeReplicas(js *jobState, pr *model.Preemption, now model.Time) {
	var kept, taken []model.Placement
	for _, r := range js.alloc.Replicas {
		if model.HasReplica(pr.Replicas, r.Node, r.GPUs) {
			taken = append(taken, r)
		} else {
			kept = append(kept, r)
		}
	}
	gpus := placedGPUs(taken)
	// The GPU time the taken replicas held is charged now; their part is
	// charged from now on.
	t.charge(js.job.Tenant, js.shed(gpus, now), now)
	t.replace(js, kept, now)
	if speed := t.speedOf(js.job, kept); speed != js.speed {
		t.respeed(js, speed, now)
	}
	part := &jobState{job: js.job, rec: js.rec, running: true, speed: js.speed, of: js,
		scaled: []gpusAt{{now, gpus}},
		alloc: model.Allocation{Job: model.LeavingJob(js.job), Started: js.alloc.Started, Replicas: taken,
			Terminating: true, EvictAt: pr.EvictAt, PreemptedFor: pr.Beneficiary}}
	js.part = part
	t.run.add(part)
	t.led.started(part, now)
	t.q.push(pr.EvictAt, evEviction, part, part.epoch)
	if t.scalesUp(js) {
		t.enqueue(js)
	}
	t.logf("%s preempt %d replica(s) of %s on %s for %s: %s (evict at %s)\n", now, len(taken), pr.Victim, placements(taken), pr.Beneficiary, pr.Reason, pr.EvictAt)
}

// shed takes gpus GPUs out of js's scale-ups, the last first (the rest
// out of those it started with), and returns the GPU-seconds they held
// by now. The caller takes the replicas out of js's allocation.
func (js *jobState) shed(gpus int, now model.Time) float64 {
	s := 0.0
	for i := len(js.scaled) - 1; i >= 0 && gpus > 0; i-- {
		a := &js.scaled[i]
		n := min(a.gpus, gpus)
		a.gpus -= n
		gpus -= n
		s += float64(n) * float64(now.Sub(a.at))
	}
	return s + float64(gpus)*float64(now.Sub(js.alloc.Started))
}

// evictPart ends part, the replicas a partial preemption took, at its
// eviction (or when its deployment or a node failure stops it first):
// its GPUs are claimed for the beneficiary.
func (t *twin) evictPart(part *jobState, now model.Time) {
	if js := part.of; js != nil && js.part == part {
		js.part = nil
	}
	n := len(part.alloc.Replicas)
	t.stop(part, now)
	part.rec.Preemptions++
	t.logf("%s evict %d replica(s) of %s\n", now, n, part.job.ID)
}

// stopPart ends js's part, if it has one, with js.
func (t *twin) stopPart(js *jobState, now model.Time) {
	if js.part != nil && js.part.running {
		t.evictPart(js.part, now)
	}
	js.part = nil
}
