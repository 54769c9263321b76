package sched

// QueueSyncs reports how often Quick rebuilt q's cluster view and how
// often it brought it up to date by difference.
func QueueSyncs(q *Queue) (rebuilds, diffs int) { return q.base.rebuilds, q.base.diffs }

// SetShortcuts turns earliest's shortcuts on or off.
func SetShortcuts(on bool) { shortcuts = on }
