package server

import (
	"cmp"
	"slices"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// whyOwnMax is how many of its tenant's jobs a why names.
const whyOwnMax = 10

// whyGPUs are the GPUs pending job js could use — those of its models
// on sites — and what holds them: the jobs of its tenant by name, those
// of other tenants summed up (never named: a tenant reads this). nil
// for a job that is not pending or asks for no GPU. Caller holds mu.
func (s *Server) whyGPUs(js *jobState, sites []string) *api.WhyGPUs {
	if js.doc.State != api.StatePending || js.job.GPUsPerReplica <= 0 {
		return nil
	}
	out := &api.WhyGPUs{Models: slices.Clone(js.job.GPUModels)}
	// the nodes counted, and how many of their GPUs are held
	held := map[string]int{}
	for name, n := range s.nodes {
		if !slices.Contains(sites, n.node.Site) || !js.job.AcceptsModel(n.node.GPUModel) || n.node.GPUs <= 0 {
			continue
		}
		held[name] = 0
		if len(js.job.GPUModels) == 0 && !slices.Contains(out.Models, n.node.GPUModel) {
			out.Models = append(out.Models, n.node.GPUModel)
		}
	}
	slices.Sort(out.Models)
	var own []api.WhyHolder
	first := model.Forever
	for _, h := range s.running {
		g := 0
		for p := range h.holding() {
			if _, ok := held[p.Node]; ok {
				g += len(p.GPUs)
				held[p.Node] += len(p.GPUs)
			}
		}
		if g == 0 {
			continue
		}
		end := h.alloc.End()
		if h.doc.Tenant == js.doc.Tenant {
			own = append(own, api.WhyHolder{Job: h.doc.ID, GPUs: g, EndsAt: whyTime(end)})
			out.OwnGPUs += g
			continue
		}
		out.Others.Jobs++
		out.Others.GPUs += g
		first = min(first, end)
	}
	out.Others.FirstEnd = whyTime(first)
	for name, h := range held {
		n := s.nodes[name]
		out.Total += n.node.GPUs
		idle := max(n.node.GPUs-h, 0)
		if n.condition() == model.NodeUp {
			down := min(s.idleDown(n), idle) // nothing may start on them
			out.Free += idle - down
			out.Unavailable += down
		} else {
			out.Unavailable += idle
		}
	}
	slices.SortFunc(own, func(a, b api.WhyHolder) int {
		return cmp.Or(cmp.Compare(endOrForever(a.EndsAt), endOrForever(b.EndsAt)), cmp.Compare(a.Job, b.Job))
	})
	if len(own) > whyOwnMax {
		out.OwnMore = len(own) - whyOwnMax
		own = own[:whyOwnMax]
	}
	out.Own = own
	return out
}

// whyTime is t for the API, nil for Forever (no expected end).
func whyTime(t model.Time) *time.Time {
	if t <= 0 || t >= model.Forever {
		return nil
	}
	return ptrTime(time.Unix(int64(t), 0).UTC())
}

// endOrForever orders expected ends, none last.
func endOrForever(t *time.Time) int64 {
	if t == nil {
		return int64(model.Forever)
	}
	return t.Unix()
}
