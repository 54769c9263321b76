package scenario

import (
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sim"
)

// SitePower is a site's peak IT draw in a scenario against its envelope,
// in plan.json's "sites" (docs/plan.md).
type SitePower struct {
	ID               string  `json:"id"`
	MaxITkW          float64 `json:"max_it_kw"`
	EnvelopeKW       float64 `json:"envelope_kw"` // 0 = none
	NameplateKW      float64 `json:"nameplate_kw"`
	StaticKW         float64 `json:"static_kw"`
	PeakOverEnvelope float64 `json:"peak_over_envelope"` // 0 without an envelope
}

// HallPower is a hall's peak IT draw in a scenario against its power cap,
// in plan.json's "halls" (docs/plan.md).
type HallPower struct {
	ID          string  `json:"id"`
	Site        string  `json:"site"`
	MaxITkW     float64 `json:"max_it_kw"`
	CapKW       float64 `json:"cap_kw"` // 0 = none
	NameplateKW float64 `json:"nameplate_kw"`
	StaticKW    float64 `json:"static_kw"`
	PeakOverCap float64 `json:"peak_over_cap"` // 0 without a cap
}

// RackPower is a capped rack's peak IT draw in a scenario against its
// power cap, in plan.json's "racks" (docs/plan.md); racks without a cap
// are left out.
type RackPower struct {
	ID          string  `json:"id"`
	Hall        string  `json:"hall"`
	Site        string  `json:"site"`
	MaxITkW     float64 `json:"max_it_kw"`
	CapKW       float64 `json:"cap_kw"`
	NameplateKW float64 `json:"nameplate_kw"`
	StaticKW    float64 `json:"static_kw"`
	PeakOverCap float64 `json:"peak_over_cap"`
}

// racksOf is every capped rack's peak against its cap, in ID order, from
// the run's summary on fac (the scenario's facility).
func racksOf(fac *model.Facility, s sim.Summary) []RackPower {
	if len(s.Racks) == 0 {
		return nil
	}
	plate := map[string]float64{}
	for _, n := range fac.Nodes {
		plate[n.Rack] += fac.NodeWatts(&n, true)
	}
	var racks []RackPower
	for id, rs := range s.Racks {
		rp := RackPower{ID: id, Hall: rs.Hall, Site: rs.Site, MaxITkW: rs.MaxITkW, CapKW: rs.CapKW,
			NameplateKW: round(plate[id] / 1000), StaticKW: rs.StaticKW}
		if rs.CapKW > 0 {
			rp.PeakOverCap = round(rs.MaxITkW / rs.CapKW)
		}
		racks = append(racks, rp)
	}
	sort.Slice(racks, func(i, j int) bool { return racks[i].ID < racks[j].ID })
	return racks
}

// powerOf is every site's and hall's peak against its limit, in ID order,
// from the run's summary on fac (the scenario's facility).
func powerOf(fac *model.Facility, s sim.Summary) ([]SitePower, []HallPower) {
	plate := NameplateW(fac)
	hallPlate := map[string]float64{}
	for _, n := range fac.Nodes {
		hallPlate[n.Hall] += fac.NodeWatts(&n, true)
	}
	var sites []SitePower
	for id, ss := range s.Sites {
		sp := SitePower{ID: id, MaxITkW: ss.MaxITkW, EnvelopeKW: ss.EnvelopeKW, NameplateKW: round(plate[id] / 1000), StaticKW: ss.StaticKW}
		if ss.EnvelopeKW > 0 {
			sp.PeakOverEnvelope = round(ss.MaxITkW / ss.EnvelopeKW)
		}
		sites = append(sites, sp)
	}
	sort.Slice(sites, func(i, j int) bool { return sites[i].ID < sites[j].ID })
	var halls []HallPower
	for id, hs := range s.Halls {
		hp := HallPower{ID: id, Site: hs.Site, MaxITkW: hs.MaxITkW, CapKW: hs.CapKW, NameplateKW: round(hallPlate[id] / 1000), StaticKW: hs.StaticKW}
		if hs.CapKW > 0 {
			hp.PeakOverCap = round(hs.MaxITkW / hs.CapKW)
		}
		halls = append(halls, hp)
	}
	sort.Slice(halls, func(i, j int) bool { return halls[i].ID < halls[j].ID })
	return sites, halls
}
