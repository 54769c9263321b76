package state

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/plan"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

var runFields = []string{"job", "started", "last_checkpoint", "placement", "power_cap_w", "start_power_cap_w", "terminating", "evict_at", "preempted_for"}

// runRaw is one running entry as written, with the line of each value.
type runRaw struct {
	path                   string
	line                   int
	job                    *model.Job
	vals                   map[string]*yamlin.Node
	started, ckpt, evict   model.Time
	terminating, termGiven bool
	capW, startW           int
	preemptedFor           string
	placements             []model.Placement
}

// runEntry decodes and checks one entry of running:.
func (l *loader) runEntry(n *yamlin.Node, path string) {
	r := &runRaw{path: path, line: n.Line, vals: map[string]*yamlin.Node{}}
	if !l.d.c.Fields(n, path, "a running job", runFields, func(e yamlin.Entry) { r.vals[e.Key] = e.Val }) {
		return
	}
	before := l.c.Count()
	if v := r.vals["job"]; v == nil {
		l.c.Add(n.Line, path, "job is required; name the running job by its id in the workload")
	} else {
		r.job = l.job(v, yamlin.Join(path, "job"))
	}
	l.runTimes(r)
	if v := r.vals["power_cap_w"]; v != nil {
		c, _ := l.d.c.Integer(v, yamlin.Join(path, "power_cap_w"), 1, maxCapW)
		r.capW = int(c)
	}
	if v := r.vals["start_power_cap_w"]; v != nil {
		c, _ := l.d.c.Integer(v, yamlin.Join(path, "start_power_cap_w"), 1, maxCapW)
		r.startW = int(c)
		switch {
		case r.startW > 0 && r.capW > 0 && r.capW < r.startW:
			l.c.Add(v.Line, yamlin.Join(path, "start_power_cap_w"), "%d W is above power_cap_w (%d W): a recap only lends power above the cap a job started with", r.startW, r.capW)
		case r.startW > 0 && r.capW == r.startW:
			l.c.Add(v.Line, yamlin.Join(path, "start_power_cap_w"), "equals power_cap_w: drop it (nothing is lent)")
		}
	}
	if v := r.vals["preempted_for"]; v != nil {
		p := yamlin.Join(path, "preempted_for")
		if j := l.job(v, p); j != nil {
			r.preemptedFor = j.ID
			l.refs = append(l.refs, ref{v.Line, p, j.ID})
			if !r.terminating {
				l.c.Add(v.Line, p, "needs terminating: true (a job is preempted for another once it has its notice)")
			}
		}
	}
	if v := r.vals["placement"]; v == nil {
		l.c.Add(n.Line, path, `placement is required; list one "node:gpus" entry per replica, e.g. ["h100-1:0-3"]`)
	} else {
		l.placement(r, v)
	}
	if r.job == nil {
		return
	}
	if prev, dup := l.running[r.job.ID]; dup {
		l.c.Add(r.vals["job"].Line, yamlin.Join(path, "job"), "job %q is already running (%s, line %d); list each job once, with all its replicas", r.job.ID, prev.path, prev.line)
		return
	}
	l.running[r.job.ID] = runAt{line: r.line, path: path, n: len(r.placements), term: r.terminating}
	if l.c.Count() > before {
		return
	}
	for i := range r.placements {
		r.placements[i].PowerCapW, r.placements[i].StartCapW = r.capW, r.startW
	}
	l.st.Running = append(l.st.Running, model.Allocation{
		Job: r.job, Started: r.started, LastCheckpoint: r.ckpt, Replicas: r.placements,
		Terminating: r.terminating, EvictAt: r.evict, PreemptedFor: r.preemptedFor,
	})
}

// runTimes reads started, last_checkpoint, terminating and evict_at.
func (l *loader) runTimes(r *runRaw) {
	p := r.path
	if v := r.vals["started"]; v == nil {
		l.c.Add(r.line, p, "started is required; give the time the job started (RFC 3339)")
	} else if t, ok := l.d.timestamp(v, yamlin.Join(p, "started")); ok {
		r.started = t
		l.past(v.Line, yamlin.Join(p, "started"), t)
	}
	if v := r.vals["last_checkpoint"]; v != nil {
		if t, ok := l.d.timestamp(v, yamlin.Join(p, "last_checkpoint")); ok {
			r.ckpt = t
			l.past(v.Line, yamlin.Join(p, "last_checkpoint"), t)
			if r.started != 0 && t < r.started {
				l.c.Add(v.Line, yamlin.Join(p, "last_checkpoint"), "%s is before started (%s); a job checkpoints after it starts", t, r.started)
			}
		}
	}
	if v := r.vals["terminating"]; v != nil {
		r.terminating, r.termGiven = l.d.boolean(v, yamlin.Join(p, "terminating"))
	}
	v := r.vals["evict_at"]
	switch {
	case v != nil:
		t, ok := l.d.timestamp(v, yamlin.Join(p, "evict_at"))
		switch {
		case !ok:
		case !r.terminating:
			l.c.Add(v.Line, yamlin.Join(p, "evict_at"), "needs terminating: true (only a job under notice has an eviction time)")
		case r.started != 0 && t < r.started:
			l.c.Add(v.Line, yamlin.Join(p, "evict_at"), "%s is before started (%s)", t, r.started)
		default:
			r.evict = t
		}
	case r.terminating:
		l.c.Add(r.vals["terminating"].Line, yamlin.Join(p, "terminating"), "needs evict_at: the time the job's notice runs out and it is evicted")
	}
}

// placement reads the placement list and checks it against the job and
// the facility: one entry per replica, each of the job's GPUs per
// replica, on known nodes of a model the job accepts at a site it may
// use, no GPU held twice, CPUs and memory within each node's.
func (l *loader) placement(r *runRaw, v *yamlin.Node) {
	path := yamlin.Join(r.path, "placement")
	items := []*yamlin.Node{v} // one replica may be written without brackets
	if v.Kind != yamlin.KindString {
		items = l.d.list(v, path, `"node:gpus" entries`)
	}
	if j := r.job; j != nil {
		switch {
		case j.Kind == model.KindDeployment && (len(items) < 1 || len(items) > j.Replicas):
			l.c.Add(v.Line, path, "deployment %s has %d replica(s); give 1 to %d entries, one per running replica (got %d)", j.ID, j.Replicas, j.Replicas, len(items))
		case j.Kind != model.KindDeployment && len(items) != j.Replicas:
			l.c.Add(v.Line, path, "job %s is a gang of %d replica(s); give exactly %d entries, one per replica (got %d)", j.ID, j.Replicas, j.Replicas, len(items))
		}
	}
	for i, it := range items {
		if pl, ok := l.replica(r, it, index(path, i)); ok {
			r.placements = append(r.placements, pl)
		}
	}
}

// replica parses and checks one "node:gpus" entry.
func (l *loader) replica(r *runRaw, v *yamlin.Node, path string) (model.Placement, bool) {
	if v.Kind == yamlin.KindMap && len(v.Entries) == 1 {
		// {h100-1: 0-3}; also what YAML makes of h100-1:0 in a flow list.
		e := v.Entries[0]
		if g, ok := l.d.str(e.Val, path); ok {
			v = &yamlin.Node{Kind: yamlin.KindString, Line: e.Line, Text: e.Key + ":" + g}
		}
	}
	s, ok := l.d.str(v, path)
	if !ok {
		return model.Placement{}, false
	}
	name, gpus, hasGPUs := strings.Cut(s, ":")
	ni, known := l.nodes[name]
	if !known {
		l.c.Add(v.Line, path, "unknown node %q; the facility's nodes are %s", yamlin.Truncate(name, 40), oneOf(l.names))
		return model.Placement{}, false
	}
	node := &l.fac.Nodes[ni]
	pl := model.Placement{Node: name}
	switch {
	case !hasGPUs && r.job != nil && r.job.GPUsPerReplica > 0:
		l.c.Add(v.Line, path, `want "node:gpus" such as "h100-1:0-3" or "h100-2:4,5"; job %s runs %d GPU(s) per replica (got %q)`, r.job.ID, r.job.GPUsPerReplica, yamlin.Truncate(s, 60))
		return model.Placement{}, false
	case hasGPUs:
		g, err := parseGPUs(gpus, name, node.GPUs)
		if err != nil {
			l.c.Add(v.Line, path, "%v", err)
			return model.Placement{}, false
		}
		pl.GPUs = g
	}
	var taken []string
	var holder runAt
	for _, g := range pl.GPUs {
		k := gpuKey{name, g}
		if prev, ok := l.held[k]; ok {
			taken, holder = append(taken, strconv.Itoa(g)), prev
			continue
		}
		l.held[k] = runAt{line: v.Line, path: r.path}
	}
	bad := len(taken) > 0
	if bad {
		l.c.Add(v.Line, path, "GPU(s) %s of node %s are already held by %s (line %d); a GPU runs one job at a time", strings.Join(taken, ","), name, holder.path, holder.line)
	}
	if j := r.job; j != nil && !bad {
		bad = !l.fits(j, node, &pl, r, v.Line, path)
	}
	return pl, !bad
}

// fits checks a replica of j on node against the job and the node.
func (l *loader) fits(j *model.Job, node *model.Node, pl *model.Placement, r *runRaw, line int, path string) bool {
	ok := true
	bad := func(format string, args ...any) {
		l.c.Add(line, path, format, args...)
		ok = false
	}
	if len(pl.GPUs) != j.GPUsPerReplica {
		bad("job %s runs %d GPU(s) per replica; this entry lists %d", j.ID, j.GPUsPerReplica, len(pl.GPUs))
	}
	if j.GPUsPerReplica > 0 && !j.AcceptsModel(node.GPUModel) {
		bad("node %s has %s GPUs; job %s accepts only %s", node.Name, node.GPUModel, j.ID, strings.Join(j.GPUModels, ", "))
	}
	if site := l.site(node.Site); !plan.SiteAllowed(l.fac, l.ten[j.Tenant], j, site) {
		bad("node %s is at site %s, where job %s of tenant %s may not run (jurisdictions or data class); a running job must be where it may run", node.Name, node.Site, j.ID, j.Tenant)
	}
	l.cpus[node.Name] += j.CPUsPerReplica
	l.mem[node.Name] += j.MemGiBPerReplica
	if c := l.cpus[node.Name]; c > node.CPUs && j.CPUsPerReplica > 0 {
		bad("node %s would hold %d CPUs of its %d with the running jobs listed so far", node.Name, c, node.CPUs)
	}
	if m := l.mem[node.Name]; m > node.MemoryGiB && j.MemGiBPerReplica > 0 {
		bad("node %s would hold %d GiB of memory of its %d with the running jobs listed so far", node.Name, m, node.MemoryGiB)
	}
	if r.capW > 0 && j.GPUsPerReplica > 0 {
		if err := capOK(l.fac.GPUModels[node.GPUModel], r.capW); err != nil {
			l.c.Add(r.vals["power_cap_w"].Line, yamlin.Join(r.path, "power_cap_w"), "%v", err)
			ok = false
		}
	}
	if r.startW > 0 && j.GPUsPerReplica > 0 {
		if err := capOK(l.fac.GPUModels[node.GPUModel], r.startW); err != nil {
			l.c.Add(r.vals["start_power_cap_w"].Line, yamlin.Join(r.path, "start_power_cap_w"), "%v", err)
			ok = false
		}
	}
	return ok
}

func capOK(m model.GPUModel, w int) error {
	switch {
	case !m.CanCap():
		return fmt.Errorf("%s GPUs cannot be power-capped; drop power_cap_w", m.Name)
	case w < m.MinCapWatts || w > m.MaxCapWatts:
		return fmt.Errorf("%d W is outside the %s's settable range %d–%d W", w, m.Name, m.MinCapWatts, m.MaxCapWatts)
	}
	return nil
}

func (l *loader) site(id string) *model.Site {
	for i := range l.fac.Sites {
		if l.fac.Sites[i].ID == id {
			return &l.fac.Sites[i]
		}
	}
	return nil
}
