package jobspec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// needed is how many replicas of job j the scheduler starts together:
// a gang's all, a deployment's minimum (model.KeepsReplicas: its
// min_replicas, at least one), placed one by one, possibly in several
// sites, but all of the model of the attempt that starts them.
func needed(j *model.Job) int {
	if j.Kind == model.KindDeployment {
		return model.KeepsReplicas(j)
	}
	return j.Replicas
}

// checkFacility refuses a job whose first replicas (needed) no single
// acceptable model holds (rooms, one per model), all the sites it may
// use (a) together:
// the scheduler never mixes models in a gang, nor in the replicas a
// deployment starts with. It reports whether the job passed.
func (fi *facIndex) checkFacility(s *spec, rooms []modelRoom, a *allowedSites, c *yamlin.Collector) bool {
	j := &s.job
	need := needed(j)
	if span, _ := bounds(rooms); span >= need {
		return true
	}
	field, why, hint := fReplicas, "(a gang never mixes models)", "give fewer replicas"
	if j.Kind == model.KindDeployment {
		why = "to start (a deployment starts with its min_replicas, replicas when it gives none, of one model)"
		hint = "give fewer replicas or a min_replicas"
		if s.has(fMinReplicas) {
			field, hint = fMinReplicas, "give a smaller min_replicas"
		}
	}
	held := heldList(rooms, j.GPUsPerReplica)
	if held == "" {
		// only where the sites it may use have no node for a replica
		models := "any GPU model"
		if len(j.GPUModels) > 0 {
			models = strings.Join(j.GPUModels, " or ")
		}
		held, hint = fmt.Sprintf("no replica of %d GPUs of %s", j.GPUsPerReplica, models), "it would never start there"
	}
	c.Add(s.lineOf(field), s.fpath(field), "needs %d GPUs (%d × %d) of one GPU model %s but %s %s; %s",
		need*j.GPUsPerReplica, need, j.GPUsPerReplica, why, a.hold(), held, hint)
	return false
}

// heldList says what each model of rooms holds, the most first, those
// holding none left out: "at most 4 such replicas of H100 (16 GPUs), 1
// of H200 (4 GPUs)"; "" when none holds one.
func heldList(rooms []modelRoom, gpus int) string {
	rs := slices.Clone(rooms)
	rs = slices.DeleteFunc(rs, func(r modelRoom) bool { return r.span == 0 })
	slices.SortStableFunc(rs, func(a, b modelRoom) int { return cmp.Compare(b.span, a.span) })
	if len(rs) == 0 {
		return ""
	}
	more := ""
	if len(rs) > 5 {
		rs, more = rs[:5], fmt.Sprintf(", … (%d models in all)", len(rs))
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%d of %s (%d GPUs)", r.span, yamlin.Truncate(r.model, 40), r.span*gpus)
	}
	parts[0] = fmt.Sprintf("%d such %s of %s (%d GPUs)", rs[0].span, plural(rs[0].span, "replica", "replicas"), yamlin.Truncate(rs[0].model, 40), rs[0].span*gpus)
	return "at most " + strings.Join(parts, ", ") + more
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
