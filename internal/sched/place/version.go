package place

import "sync/atomic"

// Versions tell a caller that keeps answers between passes whether what
// they read can have changed. Every change made outside an undo log
// (the changes a driver's kept view makes as snapshots come) counts on
// the site of the node or power container changed: a site's version
// grows with each, and two equal versions of a cluster with one UID mean
// that nothing of the site (its nodes, their GPUs, its sites', halls'
// and racks' loads) changed in between. Changes under a log (a pass's
// what-ifs) are undone by Rollback and leave versions alone; ChangedIn
// tells whether the open log has changed a site. An outermost Commit,
// which keeps a log's changes, counts on every site.

// uids numbers cluster views: a clone or a copy is another view.
var uids atomic.Uint64

// UID names this cluster view among all views; versions compare only
// within one.
func (c *Cluster) UID() uint64 { return c.uid }

// Version is site s's version.
func (c *Cluster) Version(s int) uint64 {
	if s < 0 || s >= len(c.ver) {
		return 0
	}
	return c.ver[s]
}

// Touch counts a change on node n's site that the view does not hold
// itself (say, a running job's expected end moved); on every site when
// the node's hall or rack spans sites.
func (c *Cluster) Touch(n int) {
	if n >= 0 && n < len(c.Nodes) {
		c.changed(c.siteOf(&c.Nodes[n]))
	}
}

// siteOf is the site a change of nd counts on: its own, or every site
// (-1) when its hall or rack spans sites, since a change of its load
// changes theirs.
func (c *Cluster) siteOf(nd *Node) int {
	if nd.Hall >= 0 && c.Halls[nd.Hall].site != nd.Site || nd.Rack >= 0 && c.Racks[nd.Rack].site != nd.Site {
		return -1
	}
	return nd.Site
}

// SpansSites reports whether some hall or rack holds nodes of more than
// one site: then what a request on one site reads of power depends on
// the others.
func (c *Cluster) SpansSites() bool { return c.spans }

// ChangedIn reports whether the open undo log holds a change of a node
// or power container of a site in sites (nil: of any site).
func (c *Cluster) ChangedIn(sites []bool) bool {
	u := c.undo
	if u == nil {
		return false
	}
	in := func(s int) bool { return sites == nil || s < 0 || s >= len(sites) || sites[s] }
	for i := range u.nodes {
		if in(c.Nodes[u.nodes[i].n].Site) {
			return true
		}
	}
	for i := range u.power {
		if in(u.power[i].p.site) {
			return true
		}
	}
	return false
}

// InWhatIf reports whether a what-if is open inside the outermost undo
// log (a pass's own).
func (c *Cluster) InWhatIf() bool { return c.undo != nil && len(c.undo.marks) > 1 }

// changed counts a change on site s (every site when s < 0) unless an
// undo log is open.
func (c *Cluster) changed(s int) {
	if c.undo != nil {
		return
	}
	c.bump(s)
}

func (c *Cluster) bump(s int) {
	if len(c.ver) != len(c.Sites) {
		c.ver = make([]uint64, len(c.Sites))
	}
	c.clock++
	if s >= 0 && s < len(c.ver) {
		c.ver[s] = c.clock
		return
	}
	for i := range c.ver {
		c.ver[i] = c.clock
	}
}

// renumber gives a new view (a clone, a copy) its own UID and versions.
func (c *Cluster) renumber() {
	c.uid = uids.Add(1)
	c.ver = make([]uint64, len(c.Sites))
	c.clock = 0
}

// powerSites sets each container's site: a hall's or rack's is the site
// of its nodes (-1, every site, when they lie in several or none).
func (c *Cluster) powerSites() {
	for i := range c.Sites {
		c.Sites[i].site = i
	}
	c.spans = false
	set := func(pw []Power, i, s int, seen []bool) {
		switch {
		case i < 0:
		case !seen[i]:
			pw[i].site, seen[i] = s, true
		case pw[i].site != s:
			pw[i].site, c.spans = -1, true
		}
	}
	halls, racks := make([]bool, len(c.Halls)), make([]bool, len(c.Racks))
	for i := range c.Halls {
		c.Halls[i].site = -1
	}
	for i := range c.Racks {
		c.Racks[i].site = -1
	}
	for i := range c.Nodes {
		nd := &c.Nodes[i]
		set(c.Halls, nd.Hall, nd.Site, halls)
		set(c.Racks, nd.Rack, nd.Site, racks)
	}
}
