package sched

import (
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sched/place"
	"github.com/carnot-dc/carnot/internal/sched/quota"
)

// tally is what running allocations hold, as a pass charges it: GPUs by
// tenant and model (quotas), by tenant (fair share), and the terminating
// victims by the job they make room for. Tenants are counted by their
// ordinal in the facility (tenantOrds), so that charging a placement and
// reading the tally at every pass need no lookup by name; tenants the
// facility does not know are charged nothing (no quota or fair share
// would read them).
type tally struct {
	ords     *tenantOrds
	models   int
	gpus     []int // by ordinal × models + model
	byTenant []int // by ordinal, every model
	// changed lists the ordinals whose GPUs changed since chargedQuota
	// last read them; copies of the tally share it
	changed *changedOrds
	// lowCaps counts placements capped below their GPUs' idle draw: their
	// end raises the load, so free room is not monotone in time
	lowCaps int
	// capped counts capped placements: a pass looks for jobs to recap
	// only when there are some
	capped     int
	waitingFor map[string][]*model.Allocation
	// terminating lists the allocations being evicted, whatever they
	// make room for
	terminating []*model.Allocation
	running     func(id string) *model.Allocation
	// order is the holding of each of the snapshot's allocations (kept
	// views only): their placements' node indices, without lookups
	order []*holding
	// claims are the claims of the snapshot's node states (kept views
	// only; nil: the pass reads them from the snapshot)
	claims *nodeClaims
}

// tenantOrds numbers a facility's tenants: a name's ordinal is the index
// of its first entry in Facility.Tenants.
type tenantOrds struct {
	of    map[string]int
	canon []int // per Facility.Tenants entry: its name's ordinal
	tree  []int // per ordinal: the tenant's index in the quota tree (treeIndex)
}

// treeIndex is, per ordinal, the tenant's index in q (-1 if none), found
// once: every pass's tree is a clone of the facility's.
func (o *tenantOrds) treeIndex(q *quota.Tree, fac *model.Facility) []int {
	if o.tree == nil {
		o.tree = make([]int, len(fac.Tenants))
		for i := range fac.Tenants {
			o.tree[i] = q.Tenant(fac.Tenants[i].Name)
		}
	}
	return o.tree
}

func newTenantOrds(fac *model.Facility) *tenantOrds {
	o := &tenantOrds{of: make(map[string]int, len(fac.Tenants)), canon: make([]int, len(fac.Tenants))}
	for i := range fac.Tenants {
		k, ok := o.of[fac.Tenants[i].Name]
		if !ok {
			k = i
			o.of[fac.Tenants[i].Name] = i
		}
		o.canon[i] = k
	}
	return o
}

func newTally(fac *model.Facility, models int) tally {
	return tally{ords: newTenantOrds(fac), models: models, gpus: make([]int, len(fac.Tenants)*models),
		byTenant: make([]int, len(fac.Tenants)), waitingFor: map[string][]*model.Allocation{},
		changed: &changedOrds{on: make([]bool, len(fac.Tenants))}}
}

// changedOrds is a set of tenant ordinals, listed in the order first met.
type changedOrds struct {
	on   []bool
	list []int
}

func (c *changedOrds) mark(o int) {
	if !c.on[o] {
		c.on[o] = true
		c.list = append(c.list, o)
	}
}

func (c *changedOrds) reset() {
	for _, o := range c.list {
		c.on[o] = false
	}
	c.list = c.list[:0]
}

// ordinal is tenant's ordinal, -1 for a tenant the facility lacks.
func (t *tally) ordinal(tenant string) int {
	if o, ok := t.ords.of[tenant]; ok {
		return o
	}
	return -1
}

// add charges gpus of model m (-1: a node of unknown model, charged to
// fair share only) to the tenant of ordinal o.
func (t *tally) add(o, m, gpus int) {
	if o < 0 {
		return
	}
	t.byTenant[o] += gpus
	if m >= 0 {
		t.gpus[o*t.models+m] += gpus
		t.changed.mark(o)
	}
}

// noteCap counts (sign 1) or uncounts (-1) a placement on node n at cap
// capW if it is capped, and apart if the cap is below the idle draw of
// the node's GPUs.
func (t *tally) noteCap(c *place.Cluster, n, capW, sign int) {
	if capW > 0 {
		t.capped += sign
	}
	if m := c.Nodes[n].Model; capW > 0 && m >= 0 && capW < c.Models[m].IdleWatts {
		t.lowCaps += sign
	}
}

// nodeAt is the node index of placement k of allocation i of the
// snapshot, from the kept view when it has them; ok is false for an
// unknown node.
func (t *tally) nodeAt(c *place.Cluster, i, k int, name string) (int, bool) {
	if i < len(t.order) {
		if h := t.order[i]; h != nil && h.src != nil && k < len(h.nodes) {
			return h.nodes[k], h.nodes[k] >= 0
		}
	}
	n, ok := c.NodeIndex[name]
	return n, ok
}

// tallyOf computes the tally of snap on c from scratch (Schedule).
func tallyOf(snap *model.Snapshot, c *place.Cluster) tally {
	t := newTally(snap.Facility, len(c.Models))
	byID := make(map[string]*model.Allocation, len(snap.Running))
	for i := range snap.Running {
		a := &snap.Running[i]
		if a.Job == nil {
			continue
		}
		byID[a.Job.ID] = a
		t.noteWaiting(a)
		o := t.ordinal(a.Job.Tenant)
		for _, r := range a.Replicas {
			if n, ok := c.NodeIndex[r.Node]; ok {
				t.add(o, c.Nodes[n].Model, len(r.GPUs))
				t.noteCap(c, n, r.PowerCapW, 1)
			}
		}
	}
	t.running = func(id string) *model.Allocation { return byID[id] }
	return t
}

// noteWaiting records a terminating victim, under the job it makes room
// for if any.
func (t *tally) noteWaiting(a *model.Allocation) {
	if a.Terminating {
		t.terminating = append(t.terminating, a)
	}
	if a.Terminating && a.PreemptedFor != "" {
		t.waitingFor[a.PreemptedFor] = append(t.waitingFor[a.PreemptedFor], a)
	}
}
