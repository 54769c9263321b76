package place

import (
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// Request asks for room for Replicas replicas of GPUs GPUs each (plus CPUs
// and memory) of one GPU model, for one tenant.
type Request struct {
	Tenant string
	// Claim is ClaimKey of the job asking when a preemption freed GPUs
	// for it: only that job may use them ("" for every other request).
	Claim         string
	TenantExcl    bool // tenant never shares nodes
	ExclusiveNode bool // the job wants whole nodes
	Model         int
	Sites         []bool // allowed sites (sovereignty); nil = all
	SitesID       int    // the caller's name for Sites, for memo keys
	Replicas      int
	GPUs          int
	CPUs          int
	Mem           int
	Level         int  // index into Levels of the requirement; NumLevels = any
	Required      bool // Level is a requirement, not a preference
	SameNode      bool // every replica on one node (topology "node", required)
	// MinWattsPerReplica is the least power a replica adds (at the lowest
	// cap the policy allows); nodes without that headroom are skipped.
	MinWattsPerReplica float64
	// Avoid are nodes the job may not use, by index, sorted: an earlier
	// attempt could not start there (model.Snapshot.AvoidNodes); nil
	// for none.
	Avoid []int32
	// Job is the job asking; only the caller reads it.
	Job *model.Job
	// Constrained: the job would still run at the reservation's start,
	// so it may use only reserved nodes' spare GPUs.
	Constrained bool
	// Probe: the caller only asks whether the request fits; a failed
	// Find returns an empty Result without working out why.
	Probe bool
	// Exists: the caller only asks whether the request fits and needs
	// no placement; a successful Find returns empty, non-nil Slots
	// without choosing nodes and GPUs.
	Exists bool
}

// Filter names, used in reasons.
const (
	FilterNodeState   = "node-state"
	FilterModel       = "gpu-model"
	FilterSovereignty = "sovereignty"
	FilterExclusive   = "exclusive"
	FilterPower       = "power"
	FilterFailedStart = "failed-start"
)

// FilterNames lists the filters in the order reasons name them.
var FilterNames = [...]string{FilterNodeState, FilterModel, FilterSovereignty, FilterExclusive, FilterPower, FilterFailedStart}

// filter is what nodeFilter answers: an index of FilterNames, or
// passed; a number, so that counting and comparing need no string.
type filter int8

// The filters, indexed like FilterNames.
const (
	nodeStateFilter filter = iota
	modelFilter
	sovereigntyFilter
	exclusiveFilter
	powerFilter
	failedStartFilter
	passed filter = -1
)

// Rejections counts nodes rejected per filter, indexed like FilterNames.
type Rejections [len(FilterNames)]int

func (r *Rejections) add(f filter) { r[f]++ }

// Of returns the count for filter f.
func (r *Rejections) Of(f string) int {
	for i, n := range FilterNames {
		if n == f {
			return r[i]
		}
	}
	return 0
}

// nodeFilter reports which filter, if any, rejects node n for r.
func (c *Cluster) nodeFilter(n int, r *Request) filter {
	nd := &c.Nodes[n]
	switch {
	case !nd.Up:
		return nodeStateFilter
	case nd.Model != r.Model:
		return modelFilter
	case r.avoids(n):
		return failedStartFilter
	case r.Sites != nil && (nd.Site < 0 || !r.Sites[nd.Site]):
		return sovereigntyFilter
	case !exclusiveOK(nd, r):
		return exclusiveFilter
	case !c.powerOK(nd, r.MinWattsPerReplica, r.Constrained):
		return powerFilter
	}
	return passed
}

// shortFilter is nodeFilter(n, r) for a node of a pool whose site
// cannot power a replica of r (siteShort): the power filter rejects
// every node that passes the others, without working out the site's
// headroom again.
func (c *Cluster) shortFilter(n int, r *Request) filter {
	nd := &c.Nodes[n]
	switch {
	case !nd.Up:
		return nodeStateFilter
	case nd.Model != r.Model:
		return modelFilter
	case r.avoids(n):
		return failedStartFilter
	case r.Sites != nil && (nd.Site < 0 || !r.Sites[nd.Site]):
		return sovereigntyFilter
	case !exclusiveOK(nd, r):
		return exclusiveFilter
	}
	return powerFilter
}

// avoids reports whether r may not use node n (Avoid).
func (r *Request) avoids(n int) bool {
	if len(r.Avoid) == 0 {
		return false
	}
	_, found := slices.BinarySearch(r.Avoid, int32(n))
	return found
}
