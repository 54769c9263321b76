package facility

// maxNodes, maxRacks and maxSites bound the equipment of one facility:
// 100,000 nodes is 400,000 GPUs in four-GPU trays, 800,000 in eight-GPU
// nodes, beyond the largest sites built, and a small file that asks for
// more (n[1-99999] in a thousand racks) is refused before a name is
// made. The bound is also what a file written out costs the YAML parser:
// 100,000 nodes written by Write take 7 MB, seconds and most of a
// gigabyte to parse. The quota checks visit the sites carrying a
// tenant's jurisdictions, so sites are bounded too: an operator has
// tens.
const (
	maxNodes = MaxNodes
	maxRacks = maxNodes
	maxSites = 1000
)

// MaxNodes is the most nodes one facility may have (see maxNodes).
const MaxNodes = 100_000

// size counts the sites, racks and nodes spec describes without making
// them. At the site, rack entry or node group that takes the facility
// past a limit it records an error and reports false; the racks are then
// not built at all. Errors in patterns are reported when the racks are
// built.
func (b *builder) size(spec *fileSpec) (racks, nodes int, ok bool) {
	if len(spec.sites) > maxSites {
		at := spec.sites[maxSites].at
		b.d.errf(at.line, at.path, "the facility would have more than %d sites, the limit; split it into several facilities", maxSites)
		return 0, 0, false
	}
	for _, s := range spec.sites {
		for _, h := range s.halls {
			if !buildable(s, h) {
				continue
			}
			for _, r := range h.racks {
				if r.pattern == "" {
					continue
				}
				vars := map[string]string{"site": s.site.ID, "hall": h.id}
				ids, err := compileTemplate(r.pattern, vars)
				if err != nil {
					continue
				}
				racks += ids.n
				if racks > maxRacks {
					r.at.errf("id", "the facility would have more than %d racks, the limit; split it into several facilities", maxRacks)
					return 0, 0, false
				}
				// every rack of the entry holds as many nodes: a rack
				// id has no brackets, and compileTemplate refuses
				// {rack} inside one, so the id changes no range
				vars["rack"] = "r"
				for _, g := range r.groups {
					// a pattern with an error, and a group without
					// names, count as one node: they are checked in
					// every rack all the same
					each := 0
					for _, p := range g.patterns {
						n := 1
						if pt, err := compileTemplate(p, vars); err == nil {
							n = pt.n
						}
						if each <= maxNodes {
							each += n
						}
					}
					each = max(each, 1)
					// each <= maxNodes+maxExpand and ids.n <= maxExpand,
					// so the product cannot overflow
					if each > maxNodes || nodes+ids.n*each > maxNodes {
						g.at.errf("names", "the facility would have more than %d nodes, the limit (these names make %d in each of %d racks); split it into several facilities", maxNodes, each, ids.n)
						return 0, 0, false
					}
					nodes += ids.n * each
				}
			}
		}
	}
	return racks, nodes, true
}
