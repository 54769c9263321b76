package facility

import (
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// Summary is a facility at a glance, for people and for JSON. All lists
// are sorted by name (sites and priority classes keep file order), so
// the JSON encoding is deterministic.
type Summary struct {
	Name            string         `json:"name"`
	Nodes           int            `json:"nodes"`
	GPUs            int            `json:"gpus"`
	GPUsByModel     map[string]int `json:"gpus_by_model"`
	Sites           []SiteSummary  `json:"sites"`
	GPUModels       []GPUModelInfo `json:"gpu_models"` // models in use
	Tenants         []TenantInfo   `json:"tenants"`
	Cohorts         []CohortInfo   `json:"cohorts"`
	PriorityClasses []PriorityInfo `json:"priority_classes"`
	Policy          PolicyInfo     `json:"policy"`
}

// SiteSummary describes one site and what it holds.
type SiteSummary struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Country       string         `json:"country"`
	Operator      string         `json:"operator"`
	Jurisdictions []string       `json:"jurisdictions"`
	EnvelopeKW    float64        `json:"power_envelope_kw"`
	NameplateKW   float64        `json:"nameplate_kw"` // nodes' base watts + GPUs at TDP
	IdleKW        float64        `json:"idle_kw"`
	PUE           float64        `json:"pue"`
	GridZone      string         `json:"grid_zone"`
	Halls         int            `json:"halls"`
	Racks         int            `json:"racks"`
	Nodes         int            `json:"nodes"`
	GPUs          int            `json:"gpus"`
	GPUsByModel   map[string]int `json:"gpus_by_model"`
	NVLinkDomains int            `json:"nvlink_domains"` // of nodes with GPUs
	Leaves        int            `json:"leaves"`
	Spines        int            `json:"spines"`
}

// GPUModelInfo is a catalog entry in use, with its count.
type GPUModelInfo struct {
	Name        string  `json:"name"`
	Vendor      string  `json:"vendor"`
	Count       int     `json:"count"`
	MemoryGiB   int     `json:"memory_gib"`
	TDPWatts    int     `json:"tdp_watts"`
	IdleWatts   int     `json:"idle_watts"`
	MinCapWatts int     `json:"min_cap_watts"`
	MaxCapWatts int     `json:"max_cap_watts"`
	BF16TFLOPS  float64 `json:"bf16_tflops"`
	Source      string  `json:"source"`
}

// TenantInfo is a tenant in summary form.
type TenantInfo struct {
	Name            string               `json:"name"`
	Cohort          string               `json:"cohort,omitempty"`
	Quota           map[string]QuotaInfo `json:"quota,omitempty"`
	FairShareWeight float64              `json:"fair_share_weight"`
	Jurisdictions   []string             `json:"jurisdictions,omitempty"`
	PriorityClasses []string             `json:"priority_classes,omitempty"`
	Exclusive       string               `json:"exclusive"`
}

// QuotaInfo is a quota with optional limits (absent = unlimited).
type QuotaInfo struct {
	Nominal        int  `json:"nominal"`
	BorrowingLimit *int `json:"borrowing_limit,omitempty"`
	LendingLimit   *int `json:"lending_limit,omitempty"`
}

// CohortInfo is a cohort in summary form.
type CohortInfo struct {
	Name   string               `json:"name"`
	Parent string               `json:"parent,omitempty"`
	Quota  map[string]QuotaInfo `json:"quota,omitempty"`
}

// PriorityInfo is a priority class.
type PriorityInfo struct {
	Name        string `json:"name"`
	Value       int    `json:"value"`
	Preemptible bool   `json:"preemptible"`
}

// PolicyInfo is the policy with durations as text.
type PolicyInfo struct {
	Order               string  `json:"order"`
	FairShare           bool    `json:"fair_share"`
	FairShareHalfLife   string  `json:"fair_share_half_life"`
	Quotas              bool    `json:"quotas"`
	Preemption          bool    `json:"preemption"`
	Reclaim             bool    `json:"reclaim"`
	PreemptionRateLimit int     `json:"preemption_rate_limit"`
	PreemptionWindow    string  `json:"preemption_window"`
	VictimRatio         int     `json:"victim_ratio"`
	ReclaimMinRun       string  `json:"reclaim_min_run"`
	Backfill            bool    `json:"backfill"`
	BackfillDepth       int     `json:"backfill_depth"`
	Reservation         bool    `json:"reservation"`
	Topology            bool    `json:"topology"`
	Power               bool    `json:"power"`
	PowerCapping        bool    `json:"power_capping"`
	PowerShare          bool    `json:"power_share"`
	PowerRecap          bool    `json:"power_recap"`
	CappedSpeedExponent float64 `json:"capped_speed_exponent"`
	Deferral            bool    `json:"deferral"`
	DeferralBooking     bool    `json:"deferral_booking"`
	CarbonWeight        float64 `json:"carbon_weight"`
	Sovereignty         bool    `json:"sovereignty"`
	// OutsideJurisdiction is flag or requeue (model.Policy.Outside).
	OutsideJurisdiction string `json:"outside_jurisdiction"`
	// Borrowing is any or preemptible (model.Policy.BorrowPreemptibleOnly);
	// omitted when any.
	Borrowing string `json:"borrowing,omitempty"`
	// ReclaimVictims is proportionate or any (model.Policy.ReclaimAnySize);
	// omitted when proportionate.
	ReclaimVictims string `json:"reclaim_victims,omitempty"`
}

// Summarize computes a facility's summary.
func Summarize(f *model.Facility) Summary {
	s := Summary{Name: f.Name, GPUsByModel: map[string]int{}}
	idx := map[string]int{}
	for i, site := range f.Sites {
		idx[site.ID] = i
		s.Sites = append(s.Sites, SiteSummary{
			ID: site.ID, Name: site.Name, Country: site.Country, Operator: site.Operator,
			Jurisdictions: site.Jurisdictions, EnvelopeKW: site.PowerEnvelopeKW, PUE: site.PUE,
			GridZone: site.GridZone, GPUsByModel: map[string]int{},
		})
	}
	for _, h := range f.Halls {
		if i, ok := idx[h.Site]; ok {
			s.Sites[i].Halls++
		}
	}
	hallSite := map[string]string{}
	for _, h := range f.Halls {
		hallSite[h.ID] = h.Site
	}
	for _, r := range f.Racks {
		if i, ok := idx[hallSite[r.Hall]]; ok {
			s.Sites[i].Racks++
		}
	}
	type keys struct{ nvl, leaf, spine map[string]bool }
	topo := make([]keys, len(f.Sites))
	for i := range topo {
		topo[i] = keys{map[string]bool{}, map[string]bool{}, map[string]bool{}}
	}
	for _, n := range f.Nodes {
		i, ok := idx[n.Site]
		if !ok {
			continue
		}
		ss := &s.Sites[i]
		d := nodeDraw(n, f.GPUModels)
		ss.Nodes++
		ss.GPUs += n.GPUs
		ss.NameplateKW += d.nameplate
		ss.IdleKW += d.idle
		if n.GPUs > 0 {
			ss.GPUsByModel[n.GPUModel] += n.GPUs
			s.GPUsByModel[n.GPUModel] += n.GPUs
		}
		if n.GPUs > 0 {
			topo[i].nvl[n.NVLinkDomain] = true
		}
		topo[i].leaf[n.Leaf] = true
		topo[i].spine[n.Spine] = true
		s.Nodes++
		s.GPUs += n.GPUs
	}
	for i := range s.Sites {
		s.Sites[i].NVLinkDomains = len(topo[i].nvl)
		s.Sites[i].Leaves = len(topo[i].leaf)
		s.Sites[i].Spines = len(topo[i].spine)
	}
	for name, count := range s.GPUsByModel {
		g := f.GPUModels[name]
		s.GPUModels = append(s.GPUModels, GPUModelInfo{
			Name: name, Vendor: g.Vendor, Count: count, MemoryGiB: g.MemoryGiB, TDPWatts: g.TDPWatts,
			IdleWatts: g.IdleWatts, MinCapWatts: g.MinCapWatts, MaxCapWatts: g.MaxCapWatts,
			BF16TFLOPS: g.BF16TFLOPS, Source: g.Source,
		})
	}
	slices.SortFunc(s.GPUModels, func(a, b GPUModelInfo) int { return strings.Compare(a.Name, b.Name) })
	for _, t := range f.Tenants {
		s.Tenants = append(s.Tenants, TenantInfo{
			Name: t.Name, Cohort: t.Cohort, Quota: quotaInfo(t.Quota), FairShareWeight: t.FairShareWeight,
			Jurisdictions: t.Jurisdictions, PriorityClasses: t.PriorityClasses, Exclusive: string(t.Exclusive),
		})
	}
	slices.SortFunc(s.Tenants, func(a, b TenantInfo) int { return strings.Compare(a.Name, b.Name) })
	for _, c := range f.Cohorts {
		s.Cohorts = append(s.Cohorts, CohortInfo{Name: c.Name, Parent: c.Parent, Quota: quotaInfo(c.Quota)})
	}
	slices.SortFunc(s.Cohorts, func(a, b CohortInfo) int { return strings.Compare(a.Name, b.Name) })
	for _, c := range f.PriorityClasses {
		s.PriorityClasses = append(s.PriorityClasses, PriorityInfo(c))
	}
	s.Policy = PolicyOf(f.Policy)
	return s
}

// PolicyOf is a policy as the facility file names it (docs/facility.md):
// snake_case names, durations as text, and the settings that only work
// with another (reservation with backfill, deferral_booking with
// deferral, power_recap with power capping) as in effect.
func PolicyOf(p model.Policy) PolicyInfo {
	out := PolicyInfo{
		FairShare: p.FairShare, FairShareHalfLife: p.FairShareHalfLife.String(), Quotas: p.Quotas,
		Preemption: p.Preemption, Reclaim: p.Reclaim, PreemptionRateLimit: p.PreemptionRateLimit,
		PreemptionWindow: p.PreemptionWindow.String(), VictimRatio: p.VictimRatio, ReclaimMinRun: p.ReclaimMinRun.String(),
		Backfill: p.Backfill, BackfillDepth: p.BackfillDepth,
		Topology: p.Topology, Power: p.Power, PowerCapping: p.PowerCapping, Deferral: p.Deferral,
		DeferralBooking: p.Deferral && !p.NoDeferralBooking,
		CarbonWeight:    p.CarbonWeight, Sovereignty: p.Sovereignty,
		Order: string(model.OrderFIFO), Reservation: p.Backfill && !p.NoReservation, PowerShare: p.PowerShare, PowerRecap: p.Lends(),
		CappedSpeedExponent: p.CappedSpeedExponent,
		OutsideJurisdiction: string(model.OutsideFlag),
	}
	if p.Outside != "" {
		out.OutsideJurisdiction = string(p.Outside)
	}
	if p.BorrowPreemptibleOnly {
		out.Borrowing = "preemptible"
	}
	if p.ReclaimAnySize && p.Reclaim {
		out.ReclaimVictims = "any"
	}
	if p.Order != "" {
		out.Order = string(p.Order)
	}
	return out
}

func quotaInfo(q map[string]model.Quota) map[string]QuotaInfo {
	if len(q) == 0 {
		return nil
	}
	out := make(map[string]QuotaInfo, len(q))
	for m, x := range q {
		out[m] = QuotaInfo(x)
	}
	return out
}
