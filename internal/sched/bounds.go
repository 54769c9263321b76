package sched

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// Bounds on whom a job may preempt, so that an eviction never costs far
// more than it gains (docs/plan.md, "Large gangs evicted for small
// jobs"). Ordered by GPU-time since their last checkpoint alone, a
// 1,024-GPU gang that checkpointed minutes ago was the cheapest victim
// for a 1-GPU job: it lost its grace period's work and then waited,
// often for hours, to be placed again, while the GPUs it freed beyond
// the need went to others. Both are facility policy (defaults in
// model.DefaultPolicy):
//
//   - Policy.VictimRatio (victim_ratio, 8): a victim may hold at most
//     this many times the GPUs the job needs of the searched model (one
//     node's 8 GPUs for a 1-GPU job, a 1,024-GPU gang for a 128-GPU
//     one): as Kueue, free just enough rather than whatever is cheapest.
//     A job that only much larger work could make room for waits for it
//     to end, whatever its priority. A deployment that can give up
//     replicas is bounded by those it gives up (partial.go).
//     With Policy.ReclaimAnySize (reclaim_victims: any) the ratio does
//     not bound reclaim: a job within its tenant's nominal quota takes
//     back lent quota from another tenant's borrowing work of any size,
//     when no victims within the ratio make room (those first).
//   - Policy.ReclaimMinRun (reclaim_min_run, 30m): reclaim (a victim of
//     the job's priority or above, taken only because its tenant
//     borrows) spares a job that started or restarted less than this
//     long ago, as Slurm's PreemptExemptTime does any job. Such a victim,
//     queued again, ranks ahead of its beneficiary and may restart on the
//     quota its eviction gave back; having run minutes, it was the
//     cheapest victim again, and the pair could turn over every minute or
//     two. Reclaim restores shares over hours and can wait; preemption
//     for priority is not delayed (its victims rank after their
//     beneficiary).

// proportionate reports whether, under policy pol, a job that needs need
// GPUs of a model may preempt an allocation that holds gpus of them and
// started at started, at now; lower says whether the allocation's
// priority is below the job's (else only reclaim could take it). A job
// that needs no GPUs is not bounded by the ratio.
func proportionate(pol *model.Policy, need, gpus int64, lower bool, started, now model.Time) bool {
	return sparedBy(pol, need, gpus, lower, started, now) == 0
}

// spare is the rules of proportionate that spare a victim.
type spare uint8

const (
	spareRatio  spare = 1 << iota // Policy.VictimRatio
	spareRecent                   // Policy.ReclaimMinRun
)

// sparedBy is the rule of proportionate that spares the allocation; 0:
// it may be preempted.
func sparedBy(pol *model.Policy, need, gpus int64, lower bool, started, now model.Time) spare {
	if r := int64(pol.VictimRatio); r > 0 && need > 0 && gpus > r*need {
		return spareRatio
	}
	if lower || now.Sub(started) >= pol.ReclaimMinRun {
		return 0
	}
	return spareRecent
}

// ratioNeed is the need a victim's size is compared with: j's GPUs, or
// 0 (no bound) when j is within urgencyWindow of the latest start that
// meets its deadline — such a job goes first in its priority level, and
// a deadline is a promise the ratio must not break for it.
func (p *pass) ratioNeed(j *model.Job) int64 {
	if hasDeadline(j) && p.stretch.latestStart(j) <= p.now.Add(urgencyWindow) {
		return 0
	}
	return p.need(j)
}

// noteSpared ends the reason of a job that could have preempted only
// work that proportionate spares, by the rules in by.
func noteSpared(pol *model.Policy, by spare) string {
	var why []string
	if by&spareRatio != 0 {
		why = append(why, fmt.Sprintf("more than %d times the GPUs this job needs", pol.VictimRatio))
	}
	if by&spareRecent != 0 {
		why = append(why, fmt.Sprintf("by reclaim, started less than %s ago", pol.ReclaimMinRun))
	}
	return "; preemption spares the work it could evict (" + strings.Join(why, ", or, ") + ")"
}

// reclaimsAnySize reports whether j reclaims model m free of
// Policy.VictimRatio (Policy.ReclaimAnySize): another tenant's borrowing
// work of any size may be its victim.
func (p *pass) reclaimsAnySize(t *model.Tenant, j *model.Job, m int) bool {
	return p.pol.ReclaimAnySize && p.pol.Reclaim && p.pol.Quotas && p.withinNominal(t, j, m)
}

// beyondRatio reports whether victim v holds more than Policy.VictimRatio
// times what j needs: preemption by priority would have spared it.
func (p *pass) beyondRatio(j *model.Job, v victim) bool {
	r, need := int64(p.pol.VictimRatio), p.ratioNeed(j)
	return r > 0 && need > 0 && v.gpus > r*need
}
