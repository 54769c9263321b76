package plan

import (
	"github.com/carnot-dc/carnot/internal/model"
)

// taken is what preemption pr frees: every allocation of its victim, or,
// partial (model.Preemption.Replicas), one allocation of the replicas it
// names that its victim runs (those it does not are violations of
// partial). The victim rules judge a partial preemption on these
// replicas alone, as the core chose them.
func (v *verifier) taken(pr *model.Preemption) []*model.Allocation {
	as := v.x.running(pr.Victim)
	if !pr.Partial() || len(as) == 0 {
		return as
	}
	a := *as[len(as)-1]
	var running []model.Placement
	for _, b := range as {
		if !b.Terminating {
			a = *b
			running = append(running, b.Replicas...)
		}
	}
	var reps []model.Placement
	for _, r := range pr.Replicas {
		if model.HasReplica(running, r.Node, r.GPUs) {
			reps = append(reps, r)
		}
	}
	a.Replicas = reps
	return []*model.Allocation{&a}
}

// partial checks a partial preemption's replicas: its victim is a
// deployment, each replica named is one it runs, named once, and it
// keeps at least model.KeepsReplicas of them running.
func (v *verifier) partial(pr *model.Preemption, as []*model.Allocation) {
	j := as[0].Job
	if j.Kind != model.KindDeployment {
		v.add(CodePreemption, pr.Victim, "", -1, "partial preemption of a %s (only a deployment gives up replicas)", j.Kind)
		return
	}
	var running []model.Placement
	for _, a := range as {
		if !a.Terminating {
			running = append(running, a.Replicas...)
		}
	}
	for i, r := range pr.Replicas {
		switch {
		case !model.HasReplica(running, r.Node, r.GPUs):
			v.add(CodePreemption, pr.Victim, r.Node, -1, "partial preemption names replica %s:%v, which the deployment does not run", r.Node, r.GPUs)
		case model.HasReplica(pr.Replicas[:i], r.Node, r.GPUs):
			v.add(CodePreemption, pr.Victim, r.Node, -1, "partial preemption names replica %s:%v twice", r.Node, r.GPUs)
		}
	}
	if keep, least := len(running)-len(pr.Replicas), model.KeepsReplicas(j); keep < least {
		v.add(CodePreemption, pr.Victim, "", -1, "partial preemption leaves %d of %d running replicas, below the %d the deployment keeps (MinReplicas; a whole preemption takes them all)",
			keep, len(running), least)
	}
}
