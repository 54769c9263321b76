package scenario

import (
	"math"
	"sort"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sim"
)

// Metrics are a scenario's headline figures in plan.json. Field names are
// part of Carnot's interface (docs/plan.md): add fields, never rename
// them. Most come from sim.Summary; the others are computed from the
// run's job records here.
type Metrics struct {
	Jobs                int     `json:"jobs"`
	Finished            int     `json:"finished"`
	NeverStarted        int     `json:"never_started"`
	JCTMeanS            float64 `json:"jct_mean_s"`
	JCTP95S             float64 `json:"jct_p95_s"`
	WaitMeanS           float64 `json:"wait_mean_s"`
	WaitP95S            float64 `json:"wait_p95_s"`
	BoundedSlowdownMean float64 `json:"bounded_slowdown_mean"`
	MakespanS           float64 `json:"makespan_s"`
	Utilization         float64 `json:"utilization"`
	GPUHours            float64 `json:"gpu_hours"`
	GPUHoursWindow      float64 `json:"gpu_hours_window"`
	WorkGPUHoursWindow  float64 `json:"work_gpu_hours_window"`
	CappedGPUHours      float64 `json:"capped_gpu_hours"`
	EnergyMWh           float64 `json:"energy_mwh"`
	ITMWh               float64 `json:"it_mwh"`
	CostEUR             float64 `json:"cost_eur"`
	CarbonT             float64 `json:"carbon_tco2e"`
	UnpricedMWh         float64 `json:"unpriced_mwh"`
	JobsCostEUR         float64 `json:"jobs_cost_eur"`
	JobsCarbonT         float64 `json:"jobs_carbon_tco2e"`
	MaxITkW             float64 `json:"max_it_kw"`
	EnvelopeKW          float64 `json:"envelope_kw"`
	NameplateKW         float64 `json:"nameplate_kw"`
	PeakOverEnvelope    float64 `json:"peak_over_envelope"`
	EnvelopeViolations  int     `json:"envelope_violations"`
	DeadlineJobs        int     `json:"deadline_jobs"`
	DeadlineMisses      int     `json:"deadline_misses"`
	FlexEnergyMWh       float64 `json:"flex_energy_mwh"`
	FlexCostEUR         float64 `json:"flex_cost_eur"`
	FlexCarbonT         float64 `json:"flex_carbon_tco2e"`
	DeferredJobs        int     `json:"deferred_jobs"`
	Preemptions         int     `json:"preemptions"`
	LostGPUHours        float64 `json:"lost_gpu_hours"`
	// Failures, as summary.json counts them: the jobs killed by node
	// failures (a facility variant's mtbf) and by GPU failures
	// (gpu_mtbf), the GPU-hours of work the latter threw away (part of
	// LostGPUHours) and the GPU-hours GPUs were down.
	NodeFailureKills       int     `json:"node_failure_kills"`
	GPUFailureKills        int     `json:"gpu_failure_kills"`
	GPUFailureLostGPUHours float64 `json:"gpu_failure_lost_gpu_hours"`
	GPUDownHours           float64 `json:"gpu_down_hours"`
	JainIndex              float64 `json:"jain_index"`
	// The highest peak / power cap of any capped hall (0 when none has a
	// cap), and the halls whose peak exceeded their cap.
	PeakOverHallCap   float64 `json:"peak_over_hall_cap"`
	HallCapViolations int     `json:"hall_cap_violations"`
	// The same for racks: the highest peak / power cap of any capped
	// rack, and the racks whose peak exceeded their cap.
	PeakOverRackCap   float64 `json:"peak_over_rack_cap"`
	RackCapViolations int     `json:"rack_cap_violations"`
}

// metricsOf reduces a run to its Metrics.
func metricsOf(fac *model.Facility, r *sim.Result, s sim.Summary) Metrics {
	m := Metrics{Jobs: s.Jobs, Finished: s.Finished, NeverStarted: s.NeverStarted,
		JCTMeanS: s.JCT.Mean, JCTP95S: s.JCT.P95, WaitMeanS: s.Wait.Mean, WaitP95S: s.Wait.P95,
		BoundedSlowdownMean: s.BoundedSlowdown.Mean, MakespanS: float64(r.End - r.Start),
		Utilization: s.UtilizationMean, GPUHours: s.GPUHours,
		EnergyMWh: s.Total.FacilityMWh, ITMWh: s.Total.ITMWh, CostEUR: s.Total.CostEUR, CarbonT: s.Total.CarbonT,
		UnpricedMWh:        s.Total.UnpricedMWh,
		EnvelopeViolations: s.EnvelopeBreach, DeadlineJobs: s.DeadlineJobs, DeadlineMisses: s.DeadlineMisses,
		Preemptions: s.Preemptions, LostGPUHours: s.LostGPUHours, JainIndex: s.JainIndex,
		NodeFailureKills: s.Failures, GPUFailureKills: s.GPUFailures,
		GPUFailureLostGPUHours: s.GPUFailureLost, GPUDownHours: s.GPUDownHours}
	plate := NameplateW(fac)
	ids := make([]string, 0, len(s.Sites))
	for id := range s.Sites {
		ids = append(ids, id)
	}
	sort.Strings(ids) // sums in a fixed order: the same bits on every run
	for _, id := range ids {
		site := s.Sites[id]
		m.JobsCostEUR += site.Jobs.CostEUR
		m.JobsCarbonT += site.Jobs.CarbonT
		m.MaxITkW += site.MaxITkW
		m.EnvelopeKW += site.EnvelopeKW
		m.NameplateKW += plate[id] / 1000
		if site.EnvelopeKW > 0 {
			m.PeakOverEnvelope = math.Max(m.PeakOverEnvelope, site.MaxITkW/site.EnvelopeKW)
		}
	}
	for _, h := range s.Halls {
		if h.CapKW > 0 {
			m.PeakOverHallCap = math.Max(m.PeakOverHallCap, h.MaxITkW/h.CapKW)
		}
	}
	m.HallCapViolations = s.HallCapBreach
	for _, r := range s.Racks {
		if r.CapKW > 0 {
			m.PeakOverRackCap = math.Max(m.PeakOverRackCap, r.MaxITkW/r.CapKW)
		}
	}
	m.RackCapViolations = s.RackCapBreach
	first, last := span(jobsOf(r))
	var window, work, capped float64
	var flex sim.Energy
	for i := range r.Jobs {
		j := &r.Jobs[i]
		if j.Deferrals > 0 {
			m.DeferredJobs++
		}
		if j.Job.Deadline > 0 {
			flex.ITkWh += j.Energy.ITkWh
			flex.FacilitykWh += j.Energy.FacilitykWh
			flex.CostEUR += j.Energy.CostEUR
			flex.CarbonKg += j.Energy.CarbonKg
		}
		speed := speedOf(j)
		for _, st := range j.Runs {
			gs := float64(st.GPUs) * float64(st.End-st.Start)
			if st.Capped {
				capped += gs
			}
			if a, b := max(st.Start, first), min(st.End, last); b > a {
				window += float64(st.GPUs) * float64(b-a)
				if j.Job.Kind == model.KindDeployment {
					// no work lost, and fewer replicas than asked
					// are no slowdown: each stretch at its speed
					work += st.Speed * float64(st.GPUs) * float64(b-a)
				} else {
					work += speed * float64(st.GPUs) * float64(b-a)
				}
			}
		}
	}
	m.WorkGPUHoursWindow = round(work / 3600)
	m.GPUHoursWindow, m.CappedGPUHours = round(window/3600), round(capped/3600)
	m.FlexEnergyMWh, m.FlexCostEUR, m.FlexCarbonT = round(flex.FacilitykWh/1000), round(flex.CostEUR), round(flex.CarbonKg/1000)
	for _, p := range []*float64{&m.JobsCostEUR, &m.JobsCarbonT, &m.MaxITkW, &m.EnvelopeKW, &m.NameplateKW, &m.PeakOverEnvelope, &m.PeakOverHallCap, &m.PeakOverRackCap} {
		*p = round(*p)
	}
	return m
}

// speedOf is a finished job's average useful share of the GPU time it
// held: its work at full speed (GPUs × runtime limit) over the
// GPU-seconds it held, below 1 when it ran power-capped or lost work to
// preemption. Jobs that did not finish count as 1. A deployment does not
// use it: it may hold fewer GPUs than it asks for (it runs from its
// minimum of replicas), which would hide its slowdown, and it loses no
// work, so each of its stints counts at its own speed (metricsOf).
func speedOf(j *sim.JobRecord) float64 {
	if j.End == 0 || j.Job.RuntimeLimit <= 0 {
		return 1
	}
	held := 0.0
	for _, st := range j.Runs {
		held += float64(st.GPUs) * float64(st.End-st.Start)
	}
	if held <= 0 {
		return 1
	}
	return math.Min(1, float64(j.Job.TotalGPUs())*float64(j.Job.RuntimeLimit)/held)
}

func jobsOf(r *sim.Result) []*model.Job {
	out := make([]*model.Job, len(r.Jobs))
	for i := range r.Jobs {
		out[i] = r.Jobs[i].Job
	}
	return out
}

func round(x float64) float64 { return math.Round(x*1e6) / 1e6 }
