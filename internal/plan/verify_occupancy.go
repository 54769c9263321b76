package plan

// occupancy records in the node uses (made by get) what running
// allocations hold on the nodes the plan starts on, in snapshot order:
// only there can a start break a per-node rule. A Checker's check reads
// the running placements on those nodes from its kept state; otherwise
// every running placement is looked at. Known nodes are told by index,
// unknown names by name.
func (v *verifier) occupancy(get func(string) *nodeUse) {
	t, sc := v.x.tab(), v.x.scratch()
	if k := v.x.keptState(); k != nil {
		ns := sc.nodes[:0]
		for _, s := range v.p.Starts {
			for _, pl := range s.Replicas {
				if n := t.nodeOf(pl.Node); n >= 0 && sc.start[n] != sc.gen {
					sc.start[n] = sc.gen
					ns = append(ns, int32(n))
				}
			}
		}
		// Running placements on unknown nodes are not kept: a start on
		// an unknown node is reported before its use is looked at.
		sc.refs = k.onNodes(sc.refs[:0], ns)
		for _, r := range sc.refs {
			o := &k.slots[r.slot]
			pl := &o.reps[r.rep]
			get(pl.Node).run(o.job, pl)
		}
		sc.nodes = ns
		return
	}
	var unknown map[string]bool
	for _, s := range v.p.Starts {
		for _, pl := range s.Replicas {
			if n := t.nodeOf(pl.Node); n >= 0 {
				sc.start[n] = sc.gen
			} else {
				if unknown == nil {
					unknown = map[string]bool{}
				}
				unknown[pl.Node] = true
			}
		}
	}
	nodes := v.x.runNodes()
	k := 0
	for i := range v.snap.Running {
		a := &v.snap.Running[i]
		for r := range a.Replicas {
			pl := &a.Replicas[r]
			n := nodes[k]
			k++
			if a.Job == nil || (n >= 0 && sc.start[n] != sc.gen) || (n < 0 && !unknown[pl.Node]) {
				continue
			}
			get(pl.Node).run(a.Job, pl)
		}
	}
}
