package facility

import (
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// capacityIndex holds what the quota checks compare with: the GPUs of
// each model by site, and the sites carrying each jurisdiction tag. The
// nodes are added up once, and each model and set of tags once, so that
// checking the quotas of many tenants does not cost their number times
// the nodes.
type capacityIndex struct {
	bySite  map[string]map[string]int // site ID -> GPU model -> GPUs
	total   map[string]int            // GPU model -> GPUs
	sitesOf map[string][]string       // tag -> IDs of the sites carrying it
	known   map[string]int            // model and tags -> GPUs
}

func newCapacityIndex(f *model.Facility) *capacityIndex {
	c := &capacityIndex{bySite: map[string]map[string]int{}, total: map[string]int{},
		sitesOf: map[string][]string{}, known: map[string]int{}}
	for _, s := range f.Sites {
		if c.bySite[s.ID] != nil {
			continue // a repeated id is an error already
		}
		c.bySite[s.ID] = map[string]int{}
		for _, t := range s.Jurisdictions {
			c.sitesOf[t] = append(c.sitesOf[t], s.ID)
		}
	}
	for _, n := range f.Nodes {
		if by := c.bySite[n.Site]; by != nil {
			by[n.GPUModel] += n.GPUs
		}
		c.total[n.GPUModel] += n.GPUs
	}
	return c
}

// capacity is the GPUs of model m at sites carrying any of tags (all
// sites when tags is empty).
func (b *builder) capacity(m string, tags []string) int {
	if b.caps == nil {
		b.caps = newCapacityIndex(b.f)
	}
	c := b.caps
	if len(tags) == 0 {
		return c.total[m]
	}
	key := m + "\x00" + strings.Join(tags, "\x00")
	if n, ok := c.known[key]; ok {
		return n
	}
	seen := map[string]bool{}
	total := 0
	for _, t := range tags {
		for _, s := range c.sitesOf[t] {
			b.d.steps++
			if !seen[s] {
				seen[s] = true
				total += c.bySite[s][m]
			}
		}
	}
	c.known[key] = total
	return total
}
