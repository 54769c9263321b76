package trace

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// PhillyGPU is the generic GPU model of the Philly replay. Philly ran
// P100- and P40-class GPUs (Jeon et al., ATC'19) whose exact mix per VC
// is not published; this entry stands for them all with round
// Pascal-class figures: 250 W board power (the P100 PCIe and P40
// datasheets), 30 W idle, 16 GiB, and no power capping, which the twin
// then never applies. It has no bf16, so BF16TFLOPS is 0.
var PhillyGPU = model.GPUModel{
	Name:      "PHILLY-GPU",
	Vendor:    "nvidia",
	MemoryGiB: 16,
	TDPWatts:  250,
	IdleWatts: 30,
	Source:    "generic Pascal-class stand-in for Philly's P100/P40 GPUs: TDP 250 W (P100 PCIe, P40 datasheets), idle ~30 W assumed, no capping",
}

// FacilityOptions tune HeliosFacility. Zero fields take the defaults.
type FacilityOptions struct {
	Name          string  // default "philly-helios"
	TenantPrefix  string  // must match Options.TenantPrefix of the jobs
	CPUsPerNode   int     // default 64 (8 × DefaultCPUsPerGPU × 2)
	MemGiBPerNode int     // default 512 (8 × DefaultMemGiBPerGPU × 2)
	BaseWatts     float64 // node power without GPUs; default 400 W
	PUE           float64 // default 1 (IT energy only)
	GridZone      string  // grid series of every site; default none
}

// HeliosFacility builds the replay setup of the Helios study (Hu et al.,
// SC'21) from the node counts of each virtual cluster (LoadVCNodes): each
// VC is its own cluster of 8-GPU nodes, so its jobs queue only behind its
// own.
//
// Each VC v becomes site v in the US, tagged with the jurisdictions US
// and VCTag(v), with one hall, racks of 8 nodes (one leaf each) and
// round(nodes × scale) nodes, at least 1, of PhillyGPU. Its tenant,
// TenantPrefix+v, is allowed only VCTag(v) and so can run only on its
// VC's nodes; its fair-share weight is the VC's node count. A scale that
// is not a positive finite number counts as 1. Sites are sorted by VC
// id; each site's power envelope is its nameplate (never binding), and
// halls and racks have no caps. The tags follow the facility format's
// rules (upper case, the site's country included), so facility.Write
// and facility.Load round-trip the result.
//
// There are no quotas, and the single priority class "normal" is not
// preemptible. Policy is model.DefaultPolicy() with Quotas, Preemption,
// Reclaim, Backfill, FairShare, PowerCapping and Deferral off: FIFO per
// VC, non-preemptive, with consolidated (topology-aware) placement, as
// in the study; set Policy fields on the result for other variants.
// The facility is built in code and not validated; plan.Verify accepts
// the core's plans on it.
func HeliosFacility(vcNodes map[string]int, scale float64, opt FacilityOptions) *model.Facility {
	scale = heliosScale(scale)
	opt.Name = cmp.Or(opt.Name, "philly-helios")
	opt.CPUsPerNode = cmp.Or(opt.CPUsPerNode, 2*GPUsPerNode*DefaultCPUsPerGPU)
	opt.MemGiBPerNode = cmp.Or(opt.MemGiBPerNode, 2*GPUsPerNode*DefaultMemGiBPerGPU)
	opt.BaseWatts = cmp.Or(opt.BaseWatts, 400)
	opt.PUE = cmp.Or(opt.PUE, 1)

	pol := model.DefaultPolicy()
	pol.Quotas, pol.Preemption, pol.Reclaim, pol.Backfill = false, false, false, false
	pol.FairShare, pol.PowerCapping, pol.Deferral = false, false, false
	f := &model.Facility{
		Name:            opt.Name,
		GPUModels:       map[string]model.GPUModel{PhillyGPU.Name: PhillyGPU},
		PriorityClasses: []model.PriorityClass{{Name: DefaultPriorityClass}},
		Policy:          pol,
	}
	vcs := make([]string, 0, len(vcNodes))
	for vc := range vcNodes {
		vcs = append(vcs, vc)
	}
	slices.Sort(vcs)
	used := map[string]bool{}
	for _, vc := range vcs {
		n := vcSize(vcNodes[vc], scale)
		tag := VCTag(vc)
		for i := 2; used[tag]; i++ { // "a.b" and "A_B" would share one
			tag = fmt.Sprintf("%s-%d", VCTag(vc), i)
		}
		used[tag] = true
		addVC(f, vc, tag, n, &opt)
		f.Tenants = append(f.Tenants, model.Tenant{
			Name:            opt.TenantPrefix + vc,
			FairShareWeight: float64(n),
			Jurisdictions:   []string{tag},
		})
	}
	return f
}

// HeliosNodes is the number of nodes HeliosFacility(vcNodes, scale, …)
// has, counted without making them, so that a caller can refuse a size
// no facility should have before the nodes are built.
func HeliosNodes(vcNodes map[string]int, scale float64) int {
	scale = heliosScale(scale)
	n := 0
	for _, nodes := range vcNodes {
		n += vcSize(nodes, scale)
	}
	return n
}

// heliosScale is scale, or 1 when it is not a positive finite number.
func heliosScale(scale float64) float64 {
	if !(scale > 0) || math.IsInf(scale, 0) {
		return 1
	}
	return scale
}

// vcSize is the nodes of a VC of the given size at scale: at least 1.
func vcSize(nodes int, scale float64) int {
	return max(1, int(math.Round(float64(nodes)*scale)))
}

// VCTag is the jurisdiction tag HeliosFacility gives the site of VC vc
// (unless two VCs map to one tag): "VC-" and vc in upper case, with '.'
// as '_', so VC "6214e9" is tagged "VC-6214E9".
func VCTag(vc string) string {
	return "VC-" + strings.ReplaceAll(strings.ToUpper(vc), ".", "_")
}

// rackNodes is the nodes per rack (and leaf) of the Helios facility.
const rackNodes = 8

// addVC adds the site of one VC with n nodes.
func addVC(f *model.Facility, vc, tag string, n int, opt *FacilityOptions) {
	nodeW := float64(GPUsPerNode*PhillyGPU.TDPWatts) + opt.BaseWatts
	hall := vc + "-h1"
	f.Sites = append(f.Sites, model.Site{
		ID: vc, Name: "Philly VC " + vc, Country: "US", Operator: "Philly replay",
		Jurisdictions:   []string{"US", tag},
		PowerEnvelopeKW: float64(n) * nodeW / 1000,
		PUE:             opt.PUE,
		GridZone:        opt.GridZone,
	})
	f.Halls = append(f.Halls, model.Hall{ID: hall, Site: vc, Cooling: model.CoolingAir})
	for i := range n {
		rack := fmt.Sprintf("%s-r%02d", hall, i/rackNodes+1)
		if i%rackNodes == 0 {
			f.Racks = append(f.Racks, model.Rack{ID: rack, Hall: hall, Cooling: model.CoolingAir})
		}
		name := fmt.Sprintf("%s-n%03d", vc, i+1)
		f.Nodes = append(f.Nodes, model.Node{
			Name: name, Site: vc, Hall: hall, Rack: rack,
			NVLinkDomain: name, Leaf: rack + "-leaf", Spine: hall + "-spine",
			GPUModel: PhillyGPU.Name, GPUs: GPUsPerNode,
			CPUs: opt.CPUsPerNode, MemoryGiB: opt.MemGiBPerNode, BaseWatts: opt.BaseWatts,
		})
	}
}

// KnownTenants keeps the jobs whose tenant (VC) the facility has; a VC
// without a size in the VC file cannot be replayed. It reuses jobs'
// backing array. Replayable also drops the jobs too wide for their VC.
func KnownTenants(f *model.Facility, jobs []*model.Job) []*model.Job {
	known := map[string]bool{}
	for _, t := range f.Tenants {
		known[t.Name] = true
	}
	kept := jobs[:0]
	for _, j := range jobs {
		if known[j.Tenant] {
			kept = append(kept, j)
		}
	}
	return kept
}
