package sim

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// Dependencies (model.Job.DependsOn), as the live server keeps them: a
// job that arrives before the jobs it depends on have completed waits,
// out of the queue, until the last of them completes; its wait counts
// from its submission. A job of the twin never fails (a preemption or a
// node failure queues it again), so none is cancelled, afterok and
// afterany are the same there, and afternotok, met only by a failure, is
// refused; one whose dependency never completes never starts. A
// deployment completes when it has served its runtime limit (one without
// serves until the run ends); the live server stops it then, failed, or
// its user stops it, cancelled, not a success: afterok on one is refused
// there, and here too, while afterany waits for it to complete.

// linkDeps counts each job's dependencies and lists its dependents. A
// dependency must be a job of the workload, not afternotok, and not
// afterok on a deployment.
func (t *twin) linkDeps() error {
	for _, j := range t.cfg.Jobs {
		js := t.byID[j.ID]
		for _, dep := range j.DependsOn {
			id := dep.Job
			d := t.byID[id]
			switch {
			case dep.Type == model.AfterNotOK:
				return fmt.Errorf("sim: job %s depends on %s with afternotok: the twin's jobs never fail, so it would never run; leave it out or make it afterany", j.ID, id)
			case d == nil:
				return fmt.Errorf("sim: job %s depends on %s, which is not in the workload", j.ID, id)
			case d.job.Kind == model.KindDeployment && dep.Type == model.AfterOK:
				return fmt.Errorf("sim: job %s depends on %s, a deployment, with afterok: a deployment runs until stopped, not to success, "+
					"so it would never run; make it afterany to start once %s ends", j.ID, id, id)
			case d == js:
				return fmt.Errorf("sim: job %s depends on itself", j.ID)
			}
			d.dependents = append(d.dependents, js)
			js.deps++
		}
	}
	return nil
}

// hold keeps js, arrived, out of the queue until its dependencies have
// completed.
func (t *twin) hold(js *jobState, now model.Time) {
	js.held = true
	var waits []string
	for _, dep := range js.job.DependsOn {
		if d := t.byID[dep.Job]; d.rec.End == 0 {
			waits = append(waits, dep.Job)
		}
	}
	js.rec.LastReason = "dependency: waits for " + strings.Join(waits, ", ") + " to complete"
	t.logf("%s arrive %s (%s)\n", now, js.job.ID, js.rec.LastReason)
}

// release, as js completes, queues the held jobs that waited for it
// last. A job released joins the queue at now, as on the live server:
// the core orders it by that time as by a submission's (a copy of the
// job, SubmitTime now, goes to the core; its record keeps the
// workload's), so that it does not get ahead of the jobs queued while it
// was held.
func (t *twin) release(js *jobState, now model.Time) {
	for _, d := range js.dependents {
		if d.deps--; d.deps > 0 || !d.held {
			continue
		}
		d.held = false
		d.pending = true
		queued := *d.job
		queued.SubmitTime = now
		d.job = &queued
		t.enqueue(d)
		t.logf("%s release %s (its dependencies completed)\n", now, d.job.ID)
	}
}
