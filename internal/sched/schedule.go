package sched

import "github.com/carnot-dc/carnot/internal/model"

// Schedule computes the plan for one pass. It never mutates snap.
func Schedule(snap *model.Snapshot, now model.Time) model.Plan {
	p := model.Plan{Now: now}
	for _, j := range snap.Pending {
		p.Pending = append(p.Pending, model.Pending{Job: j.ID, Code: model.ReasonCapacity, Message: "not implemented"})
	}
	return p
}
