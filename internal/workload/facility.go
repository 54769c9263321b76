package workload

import (
	"fmt"
	"math/rand/v2"

	"github.com/carnot-dc/carnot/internal/model"
)

// FacilityConfig sizes the benchmark facility. Zero fields take the
// defaults of DefaultFacilityConfig.
type FacilityConfig struct {
	Name        string
	Nodes       int   // total nodes, spread evenly over the sites
	GPUsPerNode int   // every node has this many GPUs
	Sites       int   // sites cycle through FR, DE, NL (EU) and US
	Tenants     int   // tenants, spread over the cohorts
	Cohorts     int   // cohorts under the root cohort "all"
	Seed        int64 // seeds tenant jurisdictions, weights and quotas
}

// DefaultFacilityConfig is the benchmark facility: 10,000 nodes × 8 GPUs
// (80,000 GPUs) in four sites, 200 tenants in 10 cohorts.
func DefaultFacilityConfig() FacilityConfig {
	return FacilityConfig{Name: "bench", Nodes: 10_000, GPUsPerNode: 8, Sites: 4, Tenants: 200, Cohorts: 10, Seed: 1}
}

func (c FacilityConfig) withDefaults() FacilityConfig {
	d := DefaultFacilityConfig()
	if c.Name == "" {
		c.Name = d.Name
	}
	for _, p := range []struct{ v, def *int }{
		{&c.Nodes, &d.Nodes}, {&c.GPUsPerNode, &d.GPUsPerNode}, {&c.Sites, &d.Sites},
		{&c.Tenants, &d.Tenants}, {&c.Cohorts, &d.Cohorts},
	} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	c.Sites = min(c.Sites, c.Nodes)
	return c
}

// siteKind is a template for the sites of the benchmark facility.
type siteKind struct {
	id, name, country, zone, model string
	jurisdictions                  []string
	pue                            float64
	nvlink                         bool // halls of 72-GPU NVLink domains
	cpus, memGiB                   int
	baseWatts                      float64
}

var siteKinds = []siteKind{
	{"fr-par", "Paris", "FR", "FR", "GB300", []string{"EU", "FR"}, 1.25, true, 144, 1920, 1600},
	{"de-fra", "Frankfurt", "DE", "DE", "H200", []string{"EU", "DE"}, 1.3, false, 112, 2048, 2000},
	{"nl-ams", "Amsterdam", "NL", "NL", "H100", []string{"EU", "NL"}, 1.2, false, 112, 2048, 2000},
	{"us-va", "Ashburn", "US", "US-PJM", "H100", []string{"US"}, 1.35, false, 112, 2048, 2000},
}

// Layout constants of the benchmark facility.
const (
	maxHallNodes    = 1024 // a site gets as many halls as it needs for this
	nvlDomainNodes  = 9    // 9 nodes × 8 GPUs = 72 GPUs per NVLink domain
	hgxRackNodes    = 4    // HGX racks hold 4 nodes
	racksPerLeaf    = 8    // HGX: 32 nodes (256 GPUs) per leaf
	nvlRacksPerLeaf = 4    // NVLink halls: 36 nodes (288 GPUs) per leaf
	leavesPerSpine  = 16
	rackCapShare    = 0.9  // rack power cap, share of nameplate
	hallCapShare    = 0.85 // hall power cap, share of nameplate
	siteCapShare    = 0.8  // site envelope, share of nameplate
)

// GenerateFacility builds the benchmark facility described by cfg.
func GenerateFacility(cfg FacilityConfig) *model.Facility {
	cfg = cfg.withDefaults()
	f := &model.Facility{
		Name:      cfg.Name,
		GPUModels: map[string]model.GPUModel{},
		// The classes a facility file without priority_classes gets.
		PriorityClasses: []model.PriorityClass{
			{Name: "critical", Value: 1000},
			{Name: "high", Value: 100},
			{Name: "normal", Value: 0, Preemptible: true},
			{Name: "low", Value: -100, Preemptible: true},
		},
		Policy: model.DefaultPolicy(),
	}
	for s := 0; s < cfg.Sites; s++ {
		nodes := cfg.Nodes / cfg.Sites
		if s < cfg.Nodes%cfg.Sites {
			nodes++
		}
		addSite(f, s, nodes, cfg.GPUsPerNode)
	}
	addTenants(f, cfg)
	return f
}

func addSite(f *model.Facility, s, nodes, gpn int) {
	k := siteKinds[s%len(siteKinds)]
	id := k.id
	if s >= len(siteKinds) {
		id = fmt.Sprintf("%s-%d", k.id, s/len(siteKinds)+1)
	}
	gm := gpuModel(k.model)
	f.GPUModels[gm.Name] = gm
	nodeW := float64(gpn*gm.TDPWatts) + k.baseWatts
	rackNodes, perLeaf, cooling := hgxRackNodes, racksPerLeaf, model.CoolingAir
	if k.nvlink {
		rackNodes, perLeaf, cooling = nvlDomainNodes, nvlRacksPerLeaf, model.CoolingLiquid
	}
	halls := (nodes + maxHallNodes - 1) / maxHallNodes
	site := model.Site{
		ID: id, Name: k.name, Country: k.country, Operator: "Carnot Bench " + k.country,
		Jurisdictions: k.jurisdictions, PUE: k.pue, GridZone: k.zone,
		PowerEnvelopeKW: siteCapShare * float64(nodes) * nodeW / 1000,
	}
	f.Sites = append(f.Sites, site)
	left := nodes
	for h := 0; h < halls; h++ {
		hn := (left + halls - h - 1) / (halls - h) // spread evenly
		left -= hn
		hall := model.Hall{
			ID: fmt.Sprintf("%s-h%d", id, h+1), Site: id, Cooling: cooling,
			// a hall's cap never exceeds its site's envelope (one-hall sites)
			PowerCapKW: min(hallCapShare*float64(hn)*nodeW/1000, siteCapShare*float64(nodes)*nodeW/1000),
		}
		hall.CoolingCapacityKW = 1.05 * hall.PowerCapKW
		f.Halls = append(f.Halls, hall)
		for r := 0; r*rackNodes < hn; r++ {
			rn := min(rackNodes, hn-r*rackNodes)
			rack := model.Rack{
				ID: fmt.Sprintf("%s-r%03d", hall.ID, r+1), Hall: hall.ID, Cooling: cooling,
				PowerCapKW: rackCapShare * float64(rackNodes) * nodeW / 1000,
			}
			rack.CoolingCapacityKW = 1.05 * rack.PowerCapKW
			f.Racks = append(f.Racks, rack)
			leaf := fmt.Sprintf("%s-leaf%02d", hall.ID, r/perLeaf+1)
			spine := fmt.Sprintf("%s-spine%d", hall.ID, r/perLeaf/leavesPerSpine+1)
			for i := 0; i < rn; i++ {
				n := model.Node{
					Name: fmt.Sprintf("%s-n%02d", rack.ID, i+1),
					Site: id, Hall: hall.ID, Rack: rack.ID,
					Leaf: leaf, Spine: spine, GPUModel: gm.Name, GPUs: gpn,
					CPUs: k.cpus, MemoryGiB: k.memGiB, BaseWatts: k.baseWatts,
				}
				n.NVLinkDomain = n.Name // HGX: NVLink within the node
				if k.nvlink {
					n.NVLinkDomain = rack.ID + "-nvl"
				}
				f.Nodes = append(f.Nodes, n)
			}
		}
	}
}

// rng returns the generator for seed; streams differ by purpose.
func rng(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream^0x9e3779b97f4a7c15))
}
