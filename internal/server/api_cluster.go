package server

import (
	"net/http"
	"slices"

	"github.com/carnot-dc/carnot/internal/api"
)

// nodeDoc is a node as the API shows it. Caller holds mu.
func (s *Server) nodeDoc(n *nodeState) api.Node {
	d := n.doc
	d.Telemetry = slices.Clone(d.Telemetry)
	d.GPUUUIDs = slices.Clone(d.GPUUUIDs)
	d.GPUsDown = slices.Clone(d.GPUsDown)
	d.Jobs = n.jobIDs()
	d.GPUsUsed = 0
	for _, id := range d.Jobs {
		if js := s.jobs[id]; js != nil {
			for p := range js.holding() {
				if p.Node == n.doc.Name {
					d.GPUsUsed += len(p.GPUs)
				}
			}
		}
	}
	d.Condition = n.apiCondition()
	d.NotHeardSinceRestart = n.heardAtReload && n.registered && n.doc.Condition == api.NodeReady
	d.CertificatesRevoked = n.revoked
	return d
}

// apiCondition is the node's condition as the API shows it: a ready node
// drained, whose agent is leaving or cannot write its disk, not heard
// from since the server read the store, or revoked, is draining; a node not
// registered (since a restart) is not ready.
func (n *nodeState) apiCondition() string {
	switch {
	case !n.registered:
		return api.NodeNotReady
	case (n.doc.Drained || n.leaving || n.doc.DiskError != "" || n.heardAtReload || n.revoked) && n.doc.Condition == api.NodeReady:
		return api.NodeDraining
	}
	return n.doc.Condition
}

func (s *Server) handleNodes(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := api.NodeList{Nodes: []api.Node{}}
	for _, name := range s.nodeNames() {
		out.Nodes = append(out.Nodes, s.nodeDoc(s.nodes[name]))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.mu.Lock()
	n := s.nodes[name]
	var d api.Node
	if n != nil {
		d = s.nodeDoc(n)
	}
	s.mu.Unlock()
	if n == nil {
		problemf(w, http.StatusNotFound, "no node %q", name)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// handleDrain drains a node (it keeps its work and takes nothing new) or
// undrains it.
func (s *Server) handleDrain(drain bool) http.HandlerFunc {
	return s.nodeChange(func(n *nodeState, c *changes) {
		if n.doc.Drained == drain {
			return
		}
		n.doc.Drained = drain
		verb := "drained: runs what it has, takes nothing new"
		switch {
		case !drain && n.doc.Fenced:
			verb = "undrained: it is still fenced: it takes no work until unfenced"
		case !drain && n.leaving:
			// it still shows draining: its agent said it is leaving
			verb = "undrained: takes new work once its agent, now shutting down, is back"
		case !drain && n.revoked && n.doc.Condition == api.NodeReady:
			// it still shows draining: its agent is refused
			verb = "undrained: its certificates are revoked: it takes new work once it enrolls again (carnot reenroll-node, then a join token)"
		case !drain && n.heardAtReload && n.doc.Condition == api.NodeReady:
			// it still shows draining: the server has not heard from it since it started
			verb = "undrained: takes new work once its agent, not heard from since the server started, reports"
		case !drain && n.doc.DiskError != "" && n.doc.Condition == api.NodeReady:
			// it still shows draining: its agent cannot write its disk
			verb = "undrained: its agent cannot write its data directory: it takes new work once it can"
		case !drain && n.apiCondition() == api.NodeNotReady:
			verb = "undrained: takes new work once it is ready (its agent registers or heartbeats)"
		case !drain:
			verb = "undrained: takes new work"
		}
		c.node(n, api.EventNode, "node "+n.doc.Name+" "+verb)
		c.kick = true
	})
}

// nodeChange serves an operator's change to the node the path names:
// change records it in c (with the caller as its actor) under mu, and
// the node as it then is is the answer once the change is committed.
func (s *Server) nodeChange(change func(n *nodeState, c *changes)) http.HandlerFunc {
	return s.nodeChangeIf(nil, change)
}

// nodeChangeIf is nodeChange, but refused with 409 when refuse (if not
// nil) says why, under the same hold of mu as the change.
func (s *Server) nodeChangeIf(refuse func(n *nodeState) string, change func(n *nodeState, c *changes)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		s.mu.Lock()
		defer s.mu.Unlock()
		n := s.nodes[name]
		if n == nil {
			problemf(w, http.StatusNotFound, "no node %q", name)
			return
		}
		if refuse != nil {
			if why := refuse(n); why != "" {
				problemf(w, http.StatusConflict, "%s", why)
				return
			}
		}
		c := newChanges()
		c.actor = principalOf(r).Subject
		change(n, c)
		if err := s.commit(r.Context(), c); err != nil {
			s.fail(err)
			problemf(w, http.StatusServiceUnavailable, "could not be saved: %v", err)
			return
		}
		writeJSON(w, http.StatusOK, s.nodeDoc(n))
	}
}

func (s *Server) handleSites(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	out := api.SiteList{Sites: []api.Site{}}
	for i, st := range s.fac.Sites {
		d := api.Site{ID: st.ID, Name: st.Name, Country: st.Country, Jurisdictions: st.Jurisdictions,
			PowerEnvelopeKW: st.PowerEnvelopeKW, PUE: st.PUE}
		for _, n := range s.nodes {
			if n.siteIdx != i || !n.registered {
				continue
			}
			nd := s.nodeDoc(n)
			d.Nodes++
			d.GPUs += nd.GPUs
			d.GPUsUsed += nd.GPUsUsed
			if nd.Condition != api.NodeNotReady {
				w := n.node.BaseWatts
				for _, g := range nd.Telemetry {
					w += g.PowerW
				}
				d.ITPowerKW += w / 1000
			}
		}
		if p, c, ok := s.gridAt(st.GridZone, now); ok {
			d.PriceEURMWh, d.CarbonGkWh = &p, &c
		}
		out.Sites = append(out.Sites, d)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleTenants(w http.ResponseWriter, r *http.Request) {
	usage, err := s.store.Usage(r.Context())
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading usage: %v", err)
		return
	}
	s.addLive(usage)
	byTenant := map[string]api.Usage{}
	for _, u := range usage {
		byTenant[u.Tenant] = u.Usage
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := principalOf(r)
	out := api.TenantList{Tenants: make([]api.Tenant, 0, len(s.fac.Tenants))}
	idx := make(map[string]*api.Tenant, len(s.fac.Tenants))
	for _, t := range s.fac.Tenants {
		if p.Sees(t.Name) {
			out.Tenants = append(out.Tenants, api.Tenant{})
		}
	}
	i := 0
	for _, t := range s.fac.Tenants {
		if !p.Sees(t.Name) {
			continue
		}
		d := &out.Tenants[i]
		i++
		*d = api.Tenant{Name: t.Name, Cohort: t.Cohort, Jurisdictions: t.Jurisdictions, Usage: byTenant[t.Name]}
		for m, q := range t.Quota {
			if d.Quota == nil {
				d.Quota = map[string]int{}
			}
			d.Quota[m] = q.Nominal
		}
		idx[t.Name] = d
	}
	// One walk over the jobs for every tenant.
	for _, js := range s.jobs {
		d := idx[js.job.Tenant]
		switch {
		case d == nil:
		case js.doc.State == api.StatePending:
			d.Pending++
		case js.alloc != nil:
			d.Running++
			for p := range js.holding() {
				if n := s.nodes[p.Node]; n != nil && len(p.GPUs) > 0 {
					if d.GPUsUsed == nil {
						d.GPUsUsed = map[string]int{}
					}
					d.GPUsUsed[n.node.GPUModel] += len(p.GPUs)
				}
			}
		}
	}
	// What each holds beyond its nominal quota, as the core judges who
	// borrows: per model, 0 when it has no quota of it.
	if s.fac.Policy.Quotas {
		for _, t := range s.fac.Tenants {
			d := idx[t.Name]
			if d == nil {
				continue
			}
			for m, used := range d.GPUsUsed {
				if b := used - t.Quota[m].Nominal; b > 0 {
					if d.GPUsBorrowed == nil {
						d.GPUsBorrowed = map[string]int{}
					}
					d.GPUsBorrowed[m] = b
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleUsage(w http.ResponseWriter, r *http.Request) {
	usage, err := s.store.Usage(r.Context())
	if err != nil {
		problemf(w, http.StatusServiceUnavailable, "reading usage: %v", err)
		return
	}
	s.addLive(usage)
	p := principalOf(r)
	out := api.UsageList{Tenants: []api.TenantUsage{}}
	for _, u := range usage {
		if p.Sees(u.Tenant) {
			out.Tenants = append(out.Tenants, u)
			out.Total.Add(u.Usage)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// addLive makes the stored usage, which counts an attempt's GPU time
// when it ends and energy, cost and carbon every usageFlushEvery while
// it runs, that of the jobs as GET /v1/jobs shows them: it adds the
// running attempts' GPU time up to now and the energy counted since
// each job was last written.
func (s *Server) addLive(usage []api.TenantUsage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	live := map[string]*api.Usage{}
	add := func(tenant string) *api.Usage {
		if live[tenant] == nil {
			live[tenant] = &api.Usage{}
		}
		return live[tenant]
	}
	for _, js := range s.running {
		add(js.job.Tenant).GPUSeconds += s.gpuSeconds(js, now)
	}
	for _, js := range s.jobs {
		if !js.usageDirty {
			continue // its counters are the store's
		}
		u, d := add(js.job.Tenant), js.doc.Usage
		u.ITKWh += d.ITKWh - js.saved.ITKWh
		u.KWh += d.KWh - js.saved.KWh
		u.EUR += d.EUR - js.saved.EUR
		u.GCO2e += d.GCO2e - js.saved.GCO2e
		u.UnpricedKWh += d.UnpricedKWh - js.saved.UnpricedKWh
	}
	for i := range usage {
		if u := live[usage[i].Tenant]; u != nil {
			usage[i].Usage.Add(*u)
		}
	}
}

func (s *Server) handlePlan(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	p := s.lastPlan
	s.mu.Unlock()
	if p.Pass.IsZero() {
		problemf(w, http.StatusNotFound, "no scheduling pass has run yet")
		return
	}
	writeJSON(w, http.StatusOK, p)
}
