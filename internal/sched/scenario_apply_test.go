package sched_test

import (
	"fmt"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// Directives that play a driver's part between passes: finish, cancel,
// apply and evict. They change the world the way the live server and the
// digital twin would after committing a plan.

func (w *world) finish(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: finish JOB [dirty=yes]")
	}
	dirty, err := a.bool("dirty", false)
	if err != nil {
		return err
	}
	n := w.removeRunning(func(al *model.Allocation) bool { return al.Job.ID == a.pos[0] }, dirty)
	if len(n) == 0 {
		return fmt.Errorf("job %q is not running", a.pos[0])
	}
	return nil
}

// removeRunning removes the allocations match selects, marks their GPUs
// dirty when asked, and returns them.
func (w *world) removeRunning(match func(*model.Allocation) bool, dirty bool) []model.Allocation {
	var keep, gone []model.Allocation
	for _, al := range w.running {
		if match(&al) {
			gone = append(gone, al)
			for _, pl := range al.Replicas {
				w.touch(pl, al.Job.Tenant, dirty)
				if al.Terminating && al.PreemptedFor != "" {
					w.claim(pl, al.PreemptedFor)
				}
			}
			continue
		}
		keep = append(keep, al)
	}
	w.running = keep
	return gone
}

// lose ends one replica of a running deployment, as an agent's report
// of a lost replica would: its GPUs are free (dirty when asked) and the
// deployment, below its count, is queued again to scale up.
func (w *world) lose(a *args) error {
	if len(a.pos) != 2 {
		return fmt.Errorf("want: lose JOB NODE:GPUS [dirty=yes]")
	}
	pl, err := parsePlacement(a.pos[1])
	if err != nil {
		return err
	}
	dirty, err := a.bool("dirty", false)
	if err != nil {
		return err
	}
	for i := range w.running {
		al := &w.running[i]
		if al.Job.ID != a.pos[0] || al.Job.Kind != model.KindDeployment {
			continue
		}
		for k, r := range al.Replicas {
			if r.Node == pl.Node && slices.Equal(r.GPUs, pl.GPUs) {
				al.Replicas = slices.Delete(slices.Clone(al.Replicas), k, k+1)
				w.touch(r, al.Job.Tenant, dirty)
				if len(al.Replicas) == 0 {
					w.running = slices.Delete(w.running, i, i+1)
				}
				if w.findPending(a.pos[0]) == nil {
					w.pending = append(w.pending, al.Job)
				}
				return nil
			}
		}
	}
	return fmt.Errorf("deployment %q runs no replica on %s", a.pos[0], a.pos[1])
}

func (w *world) cancel(a *args) error {
	if len(a.pos) != 1 {
		return fmt.Errorf("want: cancel JOB")
	}
	for i, j := range w.pending {
		if j.ID == a.pos[0] {
			w.pending = append(w.pending[:i:i], w.pending[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("job %q is not pending", a.pos[0])
}

// apply commits the last plan: its starts run from the plan's time (a
// gang leaves the queue; a deployment leaves it once all its replicas
// run) and its victims get notices. The clock moves to the plan's time.
func (w *world) apply(*args) error {
	if w.last == nil {
		return fmt.Errorf("apply before any schedule")
	}
	p := w.last
	w.clock = p.Now
	for _, s := range p.Starts {
		j := w.findJob(s.Job)
		if j == nil {
			return fmt.Errorf("plan starts unknown job %q", s.Job)
		}
		w.running = append(w.running, allocation(j, p.Now, clonePlacements(s.Replicas)...))
		for _, pl := range s.Replicas {
			w.touch(pl, j.Tenant, false)
		}
		if j.Kind != model.KindDeployment || w.runningReplicas(j.ID) >= j.Replicas {
			w.dropPending(j.ID)
		}
	}
	for _, pr := range p.Preemptions {
		if pr.Partial() {
			if err := w.takeReplicas(&pr); err != nil {
				return err
			}
			w.recent = append(w.recent, pr.NoticeAt)
			continue
		}
		for i := range w.running {
			if al := &w.running[i]; al.Job.ID == pr.Victim {
				al.Terminating, al.EvictAt, al.PreemptedFor = true, pr.EvictAt, pr.Beneficiary
			}
		}
		w.recent = append(w.recent, pr.NoticeAt)
	}
	for _, rc := range p.Recaps {
		for i := range w.running {
			if al := &w.running[i]; al.Job.ID == rc.Job {
				al.Replicas = clonePlacements(al.Replicas) // a new slice: the Queue's view tells changes by it
				for k := range al.Replicas {
					al.Replicas[k] = al.Replicas[k].Recapped(rc.PowerCapW)
				}
			}
		}
	}
	w.last = nil
	return nil
}

// takeReplicas applies a partial preemption as the drivers do: the
// replicas it names leave the deployment's allocations for one of their
// own, terminating, under model.LeavingJob, and the deployment, below its count, is queued to
// scale up again.
func (w *world) takeReplicas(pr *model.Preemption) error {
	var job *model.Job
	for _, r := range pr.Replicas {
		found := false
		for i := range w.running {
			al := &w.running[i]
			if al.Job.ID != pr.Victim || al.Terminating {
				continue
			}
			if k := slices.IndexFunc(al.Replicas, func(p model.Placement) bool { return p.Node == r.Node && slices.Equal(p.GPUs, r.GPUs) }); k >= 0 {
				al.Replicas = slices.Delete(slices.Clone(al.Replicas), k, k+1)
				job, found = al.Job, true
				break
			}
		}
		if !found {
			return fmt.Errorf("partial preemption of %s names replica %s:%v it does not run", pr.Victim, r.Node, r.GPUs)
		}
	}
	w.running = slices.DeleteFunc(w.running, func(al model.Allocation) bool { return al.Job.ID == pr.Victim && len(al.Replicas) == 0 })
	al := allocation(model.LeavingJob(job), w.clock, clonePlacements(pr.Replicas)...)
	al.Terminating, al.EvictAt, al.PreemptedFor = true, pr.EvictAt, pr.Beneficiary
	w.running = append(w.running, al)
	if w.findPending(job.ID) == nil {
		w.pending = append(w.pending, job)
	}
	return nil
}

// evict stops terminating jobs whose EvictAt has passed and puts them
// back in the queue with their original submission time.
func (w *world) evict(a *args) error {
	dirty, err := a.bool("dirty", false)
	if err != nil {
		return err
	}
	gone := w.removeRunning(func(al *model.Allocation) bool { return al.Terminating && al.EvictAt <= w.clock }, dirty)
	for _, al := range gone {
		if _, part := model.LeavingOf(al.Job.ID); part {
			continue // a deployment's replicas taken: it runs on
		}
		if w.findPending(al.Job.ID) == nil {
			w.pending = append(w.pending, al.Job)
		}
	}
	return nil
}

func (w *world) findPending(id string) *model.Job {
	for _, j := range w.pending {
		if j.ID == id {
			return j
		}
	}
	return nil
}

func (w *world) findJob(id string) *model.Job {
	if j := w.findPending(id); j != nil {
		return j
	}
	for _, al := range w.running {
		if al.Job.ID == id {
			return al.Job
		}
	}
	return nil
}

func (w *world) dropPending(id string) {
	for i, j := range w.pending {
		if j.ID == id {
			w.pending = append(w.pending[:i:i], w.pending[i+1:]...)
			return
		}
	}
}

func (w *world) runningReplicas(id string) int {
	n := 0
	for _, al := range w.running {
		if al.Job.ID == id {
			n += len(al.Replicas)
		}
	}
	return n
}

// claim marks a placement's GPUs as freed for a preemption's beneficiary,
// as the live server does when it evicts a victim.
func (w *world) claim(pl model.Placement, job string) {
	st, err := w.state(pl.Node)
	if err != nil {
		return
	}
	for _, g := range pl.GPUs {
		if g >= 0 && g < len(st.GPUs) {
			st.GPUs[g].ClaimedBy = job
		}
	}
}
