package state

import (
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

var (
	nodeFields  = []string{"name", "condition", "dirty_gpus", "last_tenant", "claimed_by", "claimed_gpus", "down_gpus"}
	usageFields = []string{"tenant", "gpu_hours", "as_of"}
)

// nodeEntry decodes and checks one entry of nodes:.
func (l *loader) nodeEntry(n *yamlin.Node, path string) {
	vals := map[string]*yamlin.Node{}
	if !l.d.c.Fields(n, path, "a node state", nodeFields, func(e yamlin.Entry) { vals[e.Key] = e.Val }) {
		return
	}
	before := l.c.Count()
	v := vals["name"]
	if v == nil {
		l.c.Add(n.Line, path, "name is required; name a node of the facility")
		return
	}
	name, ok := l.d.str(v, yamlin.Join(path, "name"))
	if !ok {
		return
	}
	ni, known := l.nodes[name]
	if !known {
		l.c.Add(v.Line, yamlin.Join(path, "name"), "unknown node %q; the facility's nodes are %s", yamlin.Truncate(name, 40), oneOf(l.names))
		return
	}
	if first, dup := l.nodeAt[name]; dup {
		l.c.Add(v.Line, yamlin.Join(path, "name"), "node %s is already listed on line %d; give each node one entry", name, first)
		return
	}
	l.nodeAt[name] = v.Line
	count := l.fac.Nodes[ni].GPUs
	ns := model.NodeState{Node: name, Condition: model.NodeUp}
	if v := vals["condition"]; v != nil {
		c, ok := l.d.str(v, yamlin.Join(path, "condition"))
		switch model.NodeCondition(c) {
		case model.NodeUp, model.NodeDraining, model.NodeDown, model.NodeUnreachable:
			ns.Condition = model.NodeCondition(c)
		default:
			if ok {
				l.c.Add(v.Line, yamlin.Join(path, "condition"), "must be up, draining, down or unreachable (got %s)", v.Describe())
			}
		}
	}
	var dirty, claimed, down []int
	if v := vals["dirty_gpus"]; v != nil {
		dirty, _ = l.d.gpuSet(v, yamlin.Join(path, "dirty_gpus"), name, count)
	}
	if v := vals["down_gpus"]; v != nil {
		down, _ = l.d.gpuSet(v, yamlin.Join(path, "down_gpus"), name, count)
	}
	var tenant, claimer string
	if v := vals["last_tenant"]; v != nil {
		p := yamlin.Join(path, "last_tenant")
		if t, ok := l.d.str(v, p); ok {
			switch {
			case l.ten[t] == nil:
				l.c.Add(v.Line, p, "unknown tenant %q; the facility's tenants are %s", yamlin.Truncate(t, 40), oneOf(l.tenantNames()))
			case vals["dirty_gpus"] == nil:
				l.c.Add(v.Line, p, "applies to dirty_gpus; list the GPUs the tenant left dirty, or drop last_tenant")
			default:
				tenant = t
			}
		}
	}
	if v := vals["claimed_gpus"]; v != nil {
		p := yamlin.Join(path, "claimed_gpus")
		claimed, _ = l.d.gpuSet(v, p, name, count)
		if vals["claimed_by"] == nil {
			l.c.Add(v.Line, p, "needs claimed_by: the pending job the GPUs are held for")
		}
	}
	if v := vals["claimed_by"]; v != nil {
		p := yamlin.Join(path, "claimed_by")
		if j := l.job(v, p); j != nil {
			claimer = j.ID
			l.refs = append(l.refs, ref{v.Line, p, j.ID})
		}
		if vals["claimed_gpus"] == nil {
			claimed = dirty
		}
		if vals["claimed_gpus"] == nil && vals["dirty_gpus"] == nil {
			l.c.Add(v.Line, p, "applies to claimed_gpus (default: dirty_gpus); list the GPUs a preemption freed for the job")
		}
	}
	if l.c.Count() > before {
		return
	}
	if len(dirty) > 0 || len(claimed) > 0 || len(down) > 0 {
		ns.GPUs = make([]model.GPUState, count)
		for _, g := range dirty {
			ns.GPUs[g].Dirty, ns.GPUs[g].LastTenant = true, tenant
		}
		for _, g := range claimed {
			ns.GPUs[g].ClaimedBy = claimer
		}
		for _, g := range down {
			ns.GPUs[g].Down = true
		}
	}
	l.st.Nodes = append(l.st.Nodes, ns)
}

func (l *loader) tenantNames() []string {
	out := make([]string, len(l.fac.Tenants))
	for i, t := range l.fac.Tenants {
		out[i] = t.Name
	}
	return out
}

// usageEntry decodes and checks one entry of usage:.
func (l *loader) usageEntry(n *yamlin.Node, path string) {
	vals := map[string]*yamlin.Node{}
	if !l.d.c.Fields(n, path, "a usage entry", usageFields, func(e yamlin.Entry) { vals[e.Key] = e.Val }) {
		return
	}
	before := l.c.Count()
	u := model.Usage{AsOf: l.st.Now}
	if v := vals["tenant"]; v == nil {
		l.c.Add(n.Line, path, "tenant is required")
	} else if t, ok := l.d.str(v, yamlin.Join(path, "tenant")); ok {
		switch first, dup := l.usageAt[t]; {
		case l.ten[t] == nil:
			l.c.Add(v.Line, yamlin.Join(path, "tenant"), "unknown tenant %q; the facility's tenants are %s", yamlin.Truncate(t, 40), oneOf(l.tenantNames()))
		case dup:
			l.c.Add(v.Line, yamlin.Join(path, "tenant"), "tenant %s already has usage on line %d; give each tenant one entry", t, first)
		default:
			l.usageAt[t] = v.Line
			u.Tenant = t
		}
	}
	if v := vals["gpu_hours"]; v == nil {
		l.c.Add(n.Line, path, "gpu_hours is required: the tenant's GPU-hours, decayed to as_of")
	} else if h, ok := l.d.number(v, yamlin.Join(path, "gpu_hours"), 0, maxGPUHrs); ok {
		u.GPUSeconds = h * 3600
	}
	if v := vals["as_of"]; v != nil {
		if t, ok := l.d.timestamp(v, yamlin.Join(path, "as_of")); ok {
			u.AsOf = t
			l.past(v.Line, yamlin.Join(path, "as_of"), t)
		}
	} else if l.st.Now == 0 {
		l.c.Add(n.Line, path, "as_of is required when the file has no now:; give the time the usage was measured")
	}
	if l.c.Count() > before {
		return
	}
	l.st.Usage = append(l.st.Usage, u)
}
