package plan

import (
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
)

// groupKey names node n's group at topology level l, so that two nodes
// share a group exactly when their keys are equal:
//
//	LevelNode    the node itself
//	LevelNVLink  NVLinkDomain; a node without one is a domain of its own
//	LevelLeaf    Leaf; nodes without one share a leaf per rack
//	LevelRack    Rack
//	LevelHall    Hall
//	LevelSite    Site
//
// LevelAny (and any other value) puts every node in one group. Defaults
// carry a prefix so that they never collide with a named domain or leaf.
func groupKey(n *model.Node, l model.TopologyLevel) string {
	switch l {
	case model.LevelNode:
		return "node:" + n.Name
	case model.LevelNVLink:
		if n.NVLinkDomain == "" {
			return "node:" + n.Name
		}
		return n.NVLinkDomain
	case model.LevelLeaf:
		if n.Leaf == "" {
			return "rack:" + n.Rack
		}
		return n.Leaf
	case model.LevelRack:
		return n.Rack
	case model.LevelHall:
		return n.Hall
	case model.LevelSite:
		return n.Site
	}
	return ""
}

// shape checks how a gang's replicas are spread: one GPU model (replicas
// without GPUs aside), one site unless its level is "any", and, with
// Policy.Topology and a required level, one group of that level.
// Deployments are skipped: their replicas are independent.
func (v *verifier) shape(s model.Start, j *model.Job) {
	if j.Kind == model.KindDeployment {
		return
	}
	models, sites := map[string]bool{}, map[string]bool{}
	var nodes []*model.Node
	for _, pl := range s.Replicas {
		n, ok := v.x.nodes[pl.Node]
		if !ok {
			continue // reported by placement
		}
		nodes = append(nodes, n)
		sites[n.Site] = true
		if len(pl.GPUs) > 0 {
			models[n.GPUModel] = true
		}
	}
	if len(models) > 1 {
		v.add(CodeGangModel, j.ID, "", -1, "gang spans GPU models %v", sorted(models))
	}
	lvl := j.Topology.Level
	if v.x.fac.Policy.Topology && j.Topology.Required && lvl >= model.LevelNode && lvl < model.LevelAny {
		groups := map[string]bool{}
		for _, n := range nodes {
			groups[groupKey(n, lvl)] = true
		}
		if len(groups) > 1 {
			v.add(CodeTopology, j.ID, "", -1, "requires one %s group, replicas are in %v", lvl, sorted(groups))
			if lvl == model.LevelSite {
				return // the same fact as a site span
			}
		}
	}
	if lvl != model.LevelAny && len(sites) > 1 {
		v.add(CodeSiteSpan, j.ID, "", -1, "gang with topology %s spans sites %v", lvl, sorted(sites))
	}
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
