package model

// GPUModel describes one kind of accelerator in the catalog.
type GPUModel struct {
	Name        string  // catalog key, e.g. "H100"
	Vendor      string  // "nvidia", "amd"
	MemoryGiB   int     // device memory
	TDPWatts    int     // board power at default limit
	IdleWatts   int     // draw when idle
	MinCapWatts int     // lowest settable power cap (0 = capping not supported)
	MaxCapWatts int     // highest settable power cap
	BF16TFLOPS  float64 // dense bf16 throughput
	Source      string  // where the figures come from
}

// CanCap reports whether the model's power limit can be set.
func (g GPUModel) CanCap() bool { return g.MinCapWatts > 0 && g.MaxCapWatts >= g.MinCapWatts }

// Cooling is how a hall or rack is cooled.
type Cooling string

// Cooling kinds.
const (
	CoolingAir    Cooling = "air"
	CoolingLiquid Cooling = "liquid"
)

// Site is one data-center location under one jurisdiction.
type Site struct {
	ID              string
	Name            string
	Country         string   // ISO 3166-1 alpha-2
	Operator        string   // legal operator entity
	Jurisdictions   []string // tags, e.g. ["EU", "FR"]
	PowerEnvelopeKW float64  // IT power envelope
	PUE             float64
	GridZone        string // key into the snapshot's grid series
}

// InJurisdiction reports whether the site carries tag j.
func (s *Site) InJurisdiction(j string) bool {
	for _, t := range s.Jurisdictions {
		if t == j {
			return true
		}
	}
	return false
}

// Hall is a room of a site with its own power cap and cooling.
type Hall struct {
	ID                string // unique within the facility
	Site              string
	PowerCapKW        float64 // 0 = no cap
	Cooling           Cooling
	CoolingCapacityKW float64
}

// Rack is a rack in a hall.
type Rack struct {
	ID                string // unique within the facility
	Hall              string
	PowerCapKW        float64 // 0 = no cap
	Cooling           Cooling
	CoolingCapacityKW float64
}

// Node is one machine. Topology keys are facility-unique names.
type Node struct {
	Name         string
	Site         string
	Hall         string
	Rack         string
	NVLinkDomain string // GPUs of nodes in one domain share NVLink
	Leaf         string // leaf switch
	Spine        string
	GPUModel     string
	GPUs         int
	CPUs         int
	MemoryGiB    int
	BaseWatts    float64 // node power when idle, excluding GPUs
}

// PriorityClass names a priority level.
type PriorityClass struct {
	Name        string
	Value       int
	Preemptible bool // jobs of this class may be preempted by default
}

// Quota is a per-GPU-model quota of a tenant or cohort, in GPUs.
type Quota struct {
	Nominal        int
	BorrowingLimit *int // nil: may borrow without limit
	LendingLimit   *int // nil: may lend all unused nominal quota
}

// Exclusivity is a tenant's tenancy mode.
type Exclusivity string

// Exclusivity modes.
const (
	ExclusiveGPU  Exclusivity = "gpu"  // share nodes, never GPUs (default)
	ExclusiveNode Exclusivity = "node" // never share a node with another tenant
)

// Tenant is a customer of the facility.
type Tenant struct {
	Name            string
	Cohort          string           // parent cohort; "" for none
	Quota           map[string]Quota // by GPU model
	FairShareWeight float64
	Jurisdictions   []string // allowed jurisdiction tags; empty = any
	PriorityClasses []string // allowed classes; empty = any
	Exclusive       Exclusivity
}

// Cohort is an inner node of the quota tree, which is also the
// fair-share tree.
type Cohort struct {
	Name   string
	Parent string
	Quota  map[string]Quota // optional own quota, by GPU model
	// FairShareWeight weighs the cohort against its siblings; 0 means the
	// sum of its tenants' weights.
	FairShareWeight float64
}

// QueueOrder is how a tenant's pending jobs (and, without fair share,
// tenants' head jobs) are ordered within a priority level.
type QueueOrder string

const (
	// OrderFIFO takes jobs by submit time, then ID (the default).
	OrderFIFO QueueOrder = "fifo"
	// OrderShortestFirst takes jobs by runtime limit, then submit time,
	// then ID: shortest job first. With traces, whose runtime limit is
	// the measured duration, it is the SJF oracle of scheduling studies.
	OrderShortestFirst QueueOrder = "shortest-first"
)

// Policy says which scheduling policies are on and how they are tuned.
type Policy struct {
	// Order orders jobs within a priority level; "" means OrderFIFO.
	Order               QueueOrder
	FairShare           bool
	FairShareHalfLife   Duration
	Quotas              bool
	Preemption          bool
	Reclaim             bool     // tenants under nominal may preempt borrowers
	PreemptionRateLimit int      // max victims per window; 0 = unlimited
	PreemptionWindow    Duration // window of the rate limit
	// VictimRatio bounds a preemption victim to this many times the GPUs
	// its beneficiary needs of the model (0: no bound).
	VictimRatio int
	// ReclaimMinRun: reclaim spares work that started or restarted less
	// than this long ago (0: none is spared).
	ReclaimMinRun Duration
	// ReclaimAnySize, with Reclaim, frees reclaim from VictimRatio: a job
	// within its tenant's nominal quota takes back lent quota from
	// borrowers of any size when no victims within VictimRatio make room
	// (policy reclaim_victims: any; Kueue's reclaimWithinCohort: Any).
	// VictimRatio still bounds preemption by
	// priority, and every preemption for a job that itself borrows. Off:
	// reclaim's victims are bounded like any other (reclaim_victims:
	// proportionate).
	ReclaimAnySize bool
	Backfill       bool
	BackfillDepth  int // pending jobs that get an estimated start
	// NoReservation, with Backfill, gives the first blocked job no
	// reservation: any later job that fits starts (greedy first fit;
	// large jobs can starve).
	NoReservation bool
	// BorrowPreemptibleOnly, with Quotas, lets only preemptible jobs take
	// their tenant beyond its nominal quota (policy borrowing:
	// preemptible): lent quota is then held by work reclaim may take
	// back, and a non-preemptible job waits for its own tenant's quota.
	BorrowPreemptibleOnly bool
	// NoDeferralBooking, with Deferral, scores each flexible job's hours
	// alone: jobs deferred earlier in a pass do not book their GPUs, and
	// the jobs may all choose the same cheap hours (herding).
	NoDeferralBooking bool
	Topology          bool
	Power             bool
	PowerCapping      bool // may start jobs power-capped to fit
	// PowerShare, with PowerCapping, starts every GPU at most at its share
	// of its site's envelope (the envelope less every node's base and
	// idle power, divided among all the site's GPUs, plus idle), so that
	// an oversubscribed site runs all its GPUs capped instead of some at
	// TDP and the rest waiting for power.
	PowerShare bool
	// PowerRecap, with PowerCapping, lends the power a pass leaves to
	// running jobs that started capped (Plan.Recaps raise their caps)
	// and takes it back for starts (recaps lower them again, never below
	// the cap each started with). Off by default: it trades energy for
	// time and sends many cap changes to the nodes (docs/scheduling.md).
	PowerRecap bool
	// CappedSpeedExponent is how much slower the core assumes a
	// power-capped job runs when it plans a deadline: capped at c watts,
	// at (c / TDP) ^ CappedSpeedExponent of full speed. With power
	// capping on, where a site, hall or rack limit may cap a start, a
	// job's latest start is the one that meets its deadline at its
	// models' lowest caps: deferral never waits past it, and the job
	// goes first from an hour before it (docs/scheduling.md). 0 assumes
	// capping does not slow jobs.
	CappedSpeedExponent float64
	Deferral            bool
	CarbonWeight        float64 // weight of carbon vs price when deferring, 0..1
	Sovereignty         bool    // always true in practice; kept for reporting
	// Outside is what the live server does with running work it finds
	// outside the jurisdictions its policy allows when it starts (the
	// facility file narrowed a tenant's or a data class's jurisdictions,
	// or changed a site's tags): "" (OutsideFlag) records an event and
	// lets it run; OutsideRequeue stops it like a preemption and queues
	// it again. The core never places work outside in the first place.
	Outside OutsideAction
}

// MaxCappedSpeedExponent bounds Policy.CappedSpeedExponent (the twin's
// own exponent has the same bound).
const MaxCappedSpeedExponent = 4

// Lends reports whether passes lend power to running capped jobs:
// PowerRecap, with power accounting and capping on.
func (p *Policy) Lends() bool { return p.Power && p.PowerCapping && p.PowerRecap }

// OutsideAction is Policy.Outside.
type OutsideAction string

// The actions on running work found outside its allowed jurisdictions.
const (
	OutsideFlag    OutsideAction = "flag"
	OutsideRequeue OutsideAction = "requeue"
)

// DefaultPolicy is the policy a facility gets when it says nothing.
func DefaultPolicy() Policy {
	return Policy{
		FairShare:           true,
		FairShareHalfLife:   7 * Day,
		Quotas:              true,
		Preemption:          true,
		Reclaim:             true,
		PreemptionRateLimit: 0,
		PreemptionWindow:    Hour,
		VictimRatio:         8,
		ReclaimMinRun:       30 * Minute,
		Backfill:            true,
		BackfillDepth:       16,
		Topology:            true,
		Power:               true,
		PowerCapping:        true,
		CappedSpeedExponent: 0.5,
		Deferral:            true,
		CarbonWeight:        0.5,
		Sovereignty:         true,
	}
}

// Facility is a whole installation: sites, their equipment, tenants and
// policy. Equipment is stored flat; topology is carried by keys.
type Facility struct {
	Name            string
	GPUModels       map[string]GPUModel
	Sites           []Site
	Halls           []Hall
	Racks           []Rack
	Nodes           []Node
	Tenants         []Tenant
	Cohorts         []Cohort
	PriorityClasses []PriorityClass
	// DataClasses maps a data classification to the jurisdiction tags a
	// site must carry (one of them) to hold data of that class.
	DataClasses map[string][]string
	Policy      Policy
}

// Tenant returns the tenant named name, nil when the facility has none.
func (f *Facility) Tenant(name string) *Tenant {
	for i := range f.Tenants {
		if f.Tenants[i].Name == name {
			return &f.Tenants[i]
		}
	}
	return nil
}

// IsJurisdictionTag reports whether t is a jurisdiction tag: an
// upper-case word of at most 32 letters, digits, '_' and '-', starting
// with a letter (EU, FR, US-GOV). Facility files and job specs accept
// only such tags.
func IsJurisdictionTag(t string) bool {
	if len(t) == 0 || len(t) > 32 || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for i := 1; i < len(t); i++ {
		switch c := t[i]; {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// NodeWatts is node n's draw with its GPUs at their catalog's idle
// power, or at TDP when busy (its nameplate), its base power included.
func (f *Facility) NodeWatts(n *Node, busy bool) float64 {
	m := f.GPUModels[n.GPUModel]
	per := m.IdleWatts
	if busy {
		per = m.TDPWatts
	}
	return n.BaseWatts + float64(max(0, n.GPUs)*per)
}
