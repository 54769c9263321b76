package state

import (
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// State is a loaded state file: the parts of a model.Snapshot that
// describe the cluster now, beyond the facility and the jobs' specs.
// Running allocations point at the jobs given to Load.
type State struct {
	// Now is the file's now:, or 0 when it gives none.
	Now model.Time
	// Nodes holds a NodeState for every node the file lists.
	Nodes []model.NodeState
	// Running holds one allocation per running entry, in file order.
	Running []model.Allocation
	// Pending is the jobs given to Load that are not running, in their
	// order; a running deployment with fewer replicas than it wants stays
	// pending so that the core may scale it up.
	Pending []*model.Job
	// Usage is the tenants' GPU usage history.
	Usage []model.Usage
	// RecentPreemptions are the times of earlier preemptions.
	RecentPreemptions []model.Time

	file  string
	times []stamp // times that must not lie after the pass time
}

// stamp is a time of the file that describes the past.
type stamp struct {
	line int
	path string
	t    model.Time
}

// Apply fills snap's runtime state from s: node states, running
// allocations, pending jobs, usage and recent preemptions. It replaces
// what snap held in those fields and leaves the rest (facility, grid,
// seed) alone.
func (s *State) Apply(snap *model.Snapshot) {
	snap.Nodes = s.Nodes
	snap.Running = s.Running
	snap.Pending = s.Pending
	snap.Usage = s.Usage
	snap.RecentPreemptions = s.RecentPreemptions
}

// CheckAt checks that nothing in the file happened after now, the time
// of the pass: starts, checkpoints, usage and preemptions describe the
// past. Load runs it with the file's now: when it has one; a caller that
// schedules at another time runs it again. It returns nil or an
// ErrorList.
func (s *State) CheckAt(now model.Time) error {
	c := &yamlin.Collector{File: s.file, Max: maxErrors}
	for _, st := range s.times {
		if st.t > now {
			c.Add(st.line, st.path, "%s is after the time of the pass (%s); a state describes the past: fix the time, or schedule later (now: or --now)", st.t, now)
		}
	}
	return c.Err()
}
