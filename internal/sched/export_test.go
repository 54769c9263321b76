package sched

import (
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
)

// QueueSyncs reports how often Quick rebuilt q's cluster view and how
// often it brought it up to date by difference.
func QueueSyncs(q *Queue) (rebuilds, diffs int) { return q.base.rebuilds, q.base.diffs }

// QueueClaimSkips is how many times a sync found a claimed node's
// restrictions still right (claimsSeen).
func QueueClaimSkips(q *Queue) int { return q.base.claimSkips }

// SetShortcuts turns earliest's shortcuts on or off.
func SetShortcuts(on bool) { shortcuts = on }

// PowerParts is the power part of each node of snap's facility.
func PowerParts(snap *model.Snapshot) []int32 { return newPowerParts(place.New(snap, nil)).node }
