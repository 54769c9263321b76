package scenario

import (
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// Set is a decoded scenario-set file. Paths are resolved against the
// file's directory.
type Set struct {
	Name     string
	File     string // as given to Load, for messages
	Facility string // base facility description
	Workload WorkloadSpec
	Seed     int64
	Baseline string // scenario the HTML compares the others with; "" = the first
	// MaxPasses bounds each run's scheduling passes; 0 means 200 per job
	// plus 10,000. A run that needs more fails instead of running on.
	MaxPasses int

	Policies   []PolicyVariant
	Facilities []FacilityVariant
	Grids      []GridVariant
	Scenarios  []Scenario // the cross product, or the explicit list
	facAt      int        // line of facility:, for messages
	facAs      string     // facility: as written, for messages
}

// Scenario is one combination of variants, by index into the Set's axes.
type Scenario struct {
	Name                   string
	Policy, Facility, Grid int
	Line                   int // where an explicit scenario is written; 0 for the cross product
}

// PolicyVariant overrides settings of the facility's policy.
type PolicyVariant struct {
	Name string
	Line int
	Set  []setting // in file order
}

// FacilityVariant changes the base facility's equipment, or another
// facility's (File).
type FacilityVariant struct {
	Name string
	Line int
	// File, when set, is another facility description the variant starts
	// from instead of the base one (resolved against the set's
	// directory); FileAs is the path as written, FileLine its line. The
	// changes below apply to it.
	File, FileAs string
	FileLine     int
	// GPUScale multiplies the GPU nodes of every site and GPU model
	// (1 = unchanged); racks and halls grow their caps with their
	// nodes, the site envelope does not.
	GPUScale float64
	// EnvelopeFraction, when above 0, sets every site's power envelope
	// to this share of the base facility's nameplate (node base power
	// plus GPU TDP, before GPUScale; File's facility, with File).
	EnvelopeFraction float64
	// PowerCaps set a site's envelope or a hall's or rack's power cap
	// (by its ID: par1, par1/h1, par1/h1/r1), in kW, after GPUScale
	// and EnvelopeFraction; in file order.
	PowerCaps []PowerCap
	// MTBF, when above 0, makes every node fail after exponentially
	// distributed times of that mean and come back after MTTR (the
	// twin's default when 0): sim.Config's node failures, drawn from
	// the set's seed.
	MTBF, MTTR model.Duration
	// GPUMTBF, when above 0, makes every GPU fail on its own after
	// exponentially distributed times of that mean and come back after
	// GPUMTTR (the twin's default when 0): sim.Config's GPU failures.
	GPUMTBF, GPUMTTR model.Duration
}

// PowerCap is one site envelope or hall or rack cap a facility variant
// sets.
type PowerCap struct {
	ID   string
	KW   float64
	Line int
}

// GridVariant is the grid every site draws from. An empty Zone keeps
// each site's own grid zone.
type GridVariant struct {
	Name string
	Line int
	Zone string
	File string // CSV series; "" = ask the Options' resolver
}

// WorkloadSpec is where the jobs come from: a job file, the synthetic
// generator and a batch of identical jobs, one or more of them (their
// jobs are added up); then optional transforms.
type WorkloadSpec struct {
	Line     int
	At       map[string]int // the line of each key given
	File     string
	Generate *GenerateSpec
	Batch    *BatchSpec
	// ShiftTo moves every job's times so that the first submission is at
	// this instant (to land a workload in the year of a grid series).
	ShiftTo model.Time
	// Flexible gives a share of the jobs a deadline.
	Flexible *FlexibleSpec
}

// GenerateSpec is workload.Generate's parameters and, when Load is
// above 0, the offered load its submissions are spread to (the
// generator's own is 0.9 of the facility's GPUs).
type GenerateSpec struct {
	Jobs  int
	Seed  int64
	Start model.Time
	Load  float64
}

// BatchSpec is Jobs identical gang jobs of Replicas × GPUs, one every
// Every on average (uniform jitter within each slot, seeded), by the
// tenants in turn, each with RuntimeLimit Runtime and, when Slack is
// set, Deadline = submit + Runtime + Slack.
type BatchSpec struct {
	Jobs          int
	Start         model.Time
	Every         model.Duration
	Runtime       model.Duration
	Slack         model.Duration
	GPUs          int
	Replicas      int
	Tenants       []string
	PriorityClass string
	Seed          int64

	// Where the set file gives the batch, so that a problem of its jobs
	// is reported there: Line is the batch's line, At each key's line,
	// TenantAt each item's line when tenants is a list.
	Line     int
	At       map[string]int
	TenantAt []int
}

// FlexibleSpec makes Share of the jobs (kind job, with a runtime limit
// and no deadline; chosen by a hash of
// their ID) flexible: EarliestStart = submit, Deadline = submit +
// runtime limit + Slack.
type FlexibleSpec struct {
	Share float64
	Slack model.Duration
}

// axisNames are the axes in the order they make up scenario names.
var axisNames = [...]string{"policy", "facility", "grid"}

// Axes returns a scenario's variant names: policy, facility, grid.
func (s *Set) Axes(sc Scenario) [3]string {
	return [3]string{s.Policies[sc.Policy].Name, s.Facilities[sc.Facility].Name, s.Grids[sc.Grid].Name}
}

// cross fills Scenarios with the cross product of the axes in file
// order; each name joins with "+" the variants of the axes that have
// more than one (the policy name alone when none has).
func (s *Set) cross() {
	s.Scenarios = nil
	for p := range s.Policies {
		for f := range s.Facilities {
			for g := range s.Grids {
				sc := Scenario{Policy: p, Facility: f, Grid: g}
				sc.Name = s.defaultName(sc)
				s.Scenarios = append(s.Scenarios, sc)
			}
		}
	}
}

func (s *Set) defaultName(sc Scenario) string {
	axes := s.Axes(sc)
	sizes := [3]int{len(s.Policies), len(s.Facilities), len(s.Grids)}
	var parts []string
	for i, n := range axes {
		if sizes[i] > 1 {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return axes[0]
	}
	return strings.Join(parts, "+")
}
