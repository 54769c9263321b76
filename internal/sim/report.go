package sim

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
)

// Summary is the headline of a run, written as summary.json. Field names
// are part of Carnot's interface: add fields, never rename them.
type Summary struct {
	Start          string                   `json:"start"`
	End            string                   `json:"end"`
	Passes         int                      `json:"passes"`
	Jobs           int                      `json:"jobs"`
	Finished       int                      `json:"finished"`
	NeverStarted   int                      `json:"never_started"`
	JCT            Quantiles                `json:"jct_seconds"`
	Wait           Quantiles                `json:"wait_seconds"`
	Preemptions    int                      `json:"preemptions"`
	Failures       int                      `json:"node_failure_kills"`
	LostGPUHours   float64                  `json:"lost_gpu_hours"`
	Sites          map[string]SiteSummary   `json:"sites"`
	Tenants        map[string]TenantSummary `json:"tenants"`
	EnvelopeBreach int                      `json:"envelope_violations"`
	// Added with the report (docs/twin.md, "summary.json").
	Total           EnergyJSON `json:"total"`
	GPUHours        float64    `json:"gpu_hours"`
	UtilizationMean float64    `json:"utilization_mean"`
	BoundedSlowdown Quantiles  `json:"bounded_slowdown"`
	DeadlineJobs    int        `json:"deadline_jobs"`
	DeadlineMisses  int        `json:"deadline_misses"`
	JainIndex       float64    `json:"jain_index"`
	Timeline        Timeline   `json:"timeline"`
	// Recaps counts the changes of running jobs' power caps, raises and
	// lowerings (power_recap).
	Recaps int `json:"recaps"`
	// LeftOut counts the jobs of the input the driver left out before
	// the run (a trace's jobs no VC could ever run), and Notes says why,
	// one line per reason; Summarize sets neither.
	LeftOut int      `json:"left_out"`
	Notes   []string `json:"notes,omitempty"`
	// Halls is each hall's peak draw against its power cap, by hall ID;
	// HallCapBreach counts the halls whose peak exceeded their cap.
	Halls         map[string]HallSummary `json:"halls"`
	HallCapBreach int                    `json:"hall_cap_violations"`
	// Racks is each capped rack's peak draw against its cap, by rack ID
	// (racks without a cap are left out); RackCapBreach counts the racks
	// whose peak exceeded their cap.
	Racks         map[string]RackSummary `json:"racks"`
	RackCapBreach int                    `json:"rack_cap_violations"`
	// GPUFailures counts the running jobs killed by a GPU failure
	// (Config.GPUMTBF), GPUFailureLost the GPU-hours of work they threw
	// away (part of LostGPUHours); GPUDownHours is the time GPUs were
	// down, summed over GPUs, up to the run's end.
	GPUFailures    int     `json:"gpu_failure_kills"`
	GPUFailureLost float64 `json:"gpu_failure_lost_gpu_hours"`
	GPUDownHours   float64 `json:"gpu_down_hours"`
}

// RackSummary is a capped rack's peak draw against its power cap.
type RackSummary struct {
	Hall     string  `json:"hall"`
	Site     string  `json:"site"`
	MaxITkW  float64 `json:"max_it_kw"`
	CapKW    float64 `json:"cap_kw"`    // the rack's power cap
	StaticKW float64 `json:"static_kw"` // every node's base and every GPU's idle power
}

// HallSummary is a hall's peak draw against its power cap.
type HallSummary struct {
	Site     string  `json:"site"`
	MaxITkW  float64 `json:"max_it_kw"`
	CapKW    float64 `json:"cap_kw"`    // the hall's power cap (0 = none)
	StaticKW float64 `json:"static_kw"` // every node's base and every GPU's idle power
}

// Timeline is the run on a fixed grid of windows [t_i, t_i + step) with
// t_i = start + i·step, covering [Result.Start, Result.End); the last
// window may be shorter.
type Timeline struct {
	Start       string    `json:"start"`
	StartUnix   int64     `json:"start_unix"`
	StepSeconds int64     `json:"step_seconds"`
	Points      int       `json:"points"`
	Utilization []float64 `json:"utilization"` // mean busy GPUs / all GPUs over the window
	Queue       []int     `json:"queue"`       // jobs queued at t_i
	// SitePowerKW is each site's highest IT draw during the window.
	SitePowerKW map[string][]float64 `json:"site_power_kw"`
}

// TenantSummary is a tenant's energy (the fields of EnergyJSON, at the
// same level), its waits and its share of the GPU-hours delivered.
type TenantSummary struct {
	EnergyJSON
	Jobs        int       `json:"jobs"`
	Finished    int       `json:"finished"`
	Wait        Quantiles `json:"wait_seconds"`
	GPUHours    float64   `json:"gpu_hours"`
	Weight      float64   `json:"weight"`
	Share       float64   `json:"share"`
	Entitlement float64   `json:"entitlement"`
	ShareRatio  float64   `json:"share_over_entitlement"`
}

// Quantiles of a distribution of durations (seconds).
type Quantiles struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
}

// SiteSummary is a site's energy and peak draw.
type SiteSummary struct {
	All        EnergyJSON `json:"all"`
	Jobs       EnergyJSON `json:"jobs"`
	Idle       EnergyJSON `json:"idle"`
	MaxITkW    float64    `json:"max_it_kw"`
	EnvelopeKW float64    `json:"envelope_kw"`
	StaticKW   float64    `json:"static_kw"` // every node's base and every GPU's idle power
}

// EnergyJSON is Energy in reporting units.
type EnergyJSON struct {
	ITMWh       float64 `json:"it_mwh"`
	FacilityMWh float64 `json:"facility_mwh"`
	CostEUR     float64 `json:"cost_eur"`
	CarbonT     float64 `json:"carbon_tco2e"`
	// UnpricedMWh is the facility energy drawn outside the hours of the
	// site's grid series: cost and carbon leave it out.
	UnpricedMWh float64 `json:"unpriced_mwh"`
}

// energyJSON rounds MWh and tCO2e to 9 decimals, 6 of the kWh and kg of
// jobs.csv, so that jobs.csv's columns add up to these totals within the
// rounding of their rows (docs/twin.md, Conventions).
func energyJSON(e Energy) EnergyJSON {
	return EnergyJSON{ITMWh: round9(e.ITkWh / 1000), FacilityMWh: round9(e.FacilitykWh / 1000),
		CostEUR: round(e.CostEUR), CarbonT: round9(e.CarbonKg / 1000), UnpricedMWh: round9(e.UnpricedkWh / 1000)}
}

func round(x float64) float64 { return math.Round(x*1e6) / 1e6 }

func round9(x float64) float64 { return math.Round(x*1e9) / 1e9 }

// Summarize computes the summary of a run on fac.
func Summarize(fac *model.Facility, r *Result) Summary {
	s := Summary{Start: r.Start.String(), End: r.End.String(), Passes: r.Passes, Jobs: len(r.Jobs),
		Sites: map[string]SiteSummary{}, Tenants: map[string]TenantSummary{}}
	var wait []float64
	waits := map[string][]float64{}
	for _, j := range r.Jobs {
		s.Preemptions += j.Preemptions
		s.Recaps += j.Recaps
		s.Failures += j.Failures
		s.GPUFailures += j.GPUFailures
		s.GPUFailureLost += j.GPUFailureLost / 3600
		s.LostGPUHours += j.LostGPUSeconds / 3600
		ts := s.Tenants[j.Job.Tenant]
		ts.Jobs++
		switch {
		case j.FirstStart == 0:
			s.NeverStarted++
		case j.End > 0:
			s.Finished++
			ts.Finished++
		}
		if j.FirstStart > 0 {
			wait = append(wait, float64(j.FirstStart-j.Job.SubmitTime))
			waits[j.Job.Tenant] = append(waits[j.Job.Tenant], float64(j.FirstStart-j.Job.SubmitTime))
		}
		s.Tenants[j.Job.Tenant] = ts
	}
	s.JCT, s.Wait = quantiles(CompletionTimes(r)), quantiles(wait)
	s.BoundedSlowdown = quantiles(BoundedSlowdowns(r, SlowdownThreshold))
	s.DeadlineJobs, s.DeadlineMisses = DeadlineMisses(r)
	s.LostGPUHours = round(s.LostGPUHours)
	for _, o := range r.GPUOutages {
		s.GPUDownHours += float64(o.End-o.Start) / 3600
	}
	s.GPUDownHours = round(s.GPUDownHours)
	s.GPUFailureLost = round(s.GPUFailureLost)
	s.GPUHours = round(DeliveredGPUSeconds(r) / 3600)
	s.UtilizationMean = round(MeanUtilization(fac, r))
	s.Timeline = NewTimeline(fac, r, MaxTimelinePoints)
	static := StaticWatts(fac)
	var total Energy
	for _, site := range fac.Sites {
		e, ok := r.Sites[site.ID]
		if !ok {
			continue
		}
		total.add(e.All)
		s.Sites[site.ID] = SiteSummary{All: energyJSON(e.All), Jobs: energyJSON(e.Jobs), Idle: energyJSON(e.Idle),
			MaxITkW: round(e.MaxITW / 1000), EnvelopeKW: site.PowerEnvelopeKW, StaticKW: round(static[site.ID] / 1000)}
		if site.PowerEnvelopeKW > 0 && e.MaxITW > site.PowerEnvelopeKW*1000*(1+1e-9) {
			s.EnvelopeBreach++
		}
	}
	s.Total = energyJSON(total)
	s.Halls = map[string]HallSummary{}
	hallStatic := HallStaticWatts(fac)
	for _, h := range fac.Halls {
		hp, ok := r.Halls[h.ID]
		if !ok {
			continue
		}
		s.Halls[h.ID] = HallSummary{Site: h.Site, MaxITkW: round(hp.MaxITW / 1000), CapKW: h.PowerCapKW,
			StaticKW: round(hallStatic[h.ID] / 1000)}
		if h.PowerCapKW > 0 && hp.MaxITW > h.PowerCapKW*1000*(1+1e-9) {
			s.HallCapBreach++
		}
	}
	s.Racks, s.RackCapBreach = rackSummaries(fac, r)
	shares, jain := Fairness(fac, r)
	s.JainIndex = round(jain)
	for name, e := range r.Tenants {
		ts := s.Tenants[name]
		ts.EnergyJSON = energyJSON(e)
		s.Tenants[name] = ts
	}
	for name, sh := range shares {
		ts := s.Tenants[name]
		ts.Wait = quantiles(waits[name])
		ts.GPUHours, ts.Weight, ts.Share = round(sh.GPUHours), sh.Weight, round(sh.Share)
		ts.Entitlement, ts.ShareRatio = round(sh.Entitlement), round(sh.Ratio)
		s.Tenants[name] = ts
	}
	return s
}

func quantiles(v []float64) Quantiles {
	if len(v) == 0 {
		return Quantiles{}
	}
	sort.Float64s(v)
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	at := func(q float64) float64 { return v[min(len(v)-1, int(math.Ceil(q*float64(len(v))))-1)] }
	return Quantiles{Mean: round(sum / float64(len(v))), P50: round(at(0.5)), P95: round(at(0.95)), P99: round(at(0.99))}
}

// WriteSummary writes s as indented JSON.
func WriteSummary(w io.Writer, s Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteJobsCSV writes one row per job, in workload order; the columns
// are documented in docs/twin.md.
func WriteJobsCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"job", "tenant", "gpus", "submit", "start", "end", "wait_s", "preemptions",
		"lost_gpu_h", "it_kwh", "facility_kwh", "cost_eur", "carbon_kg", "last_reason",
		"sites", "gpu_hours", "deferrals", "deadline", "missed_deadline", "failures", "recaps"})
	// six decimals: each row is within 5e-7 of its unit, so a column
	// summed over a million rows stays within 0.5 of summary.json's total
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 6, 64) }
	for _, j := range r.Jobs {
		wait := ""
		if j.FirstStart > 0 {
			wait = strconv.FormatInt(int64(j.FirstStart-j.Job.SubmitTime), 10)
		}
		reason := ""
		if j.End == 0 {
			reason = j.LastReason
		}
		deadline, missed := "", ""
		if j.Job.Deadline > 0 {
			deadline, missed = j.Job.Deadline.String(), strconv.FormatBool(j.End == 0 || j.End > j.Job.Deadline)
		}
		cw.Write([]string{j.Job.ID, j.Job.Tenant, strconv.Itoa(j.Job.TotalGPUs()), j.Job.SubmitTime.String(),
			j.FirstStart.String(), j.End.String(), wait, strconv.Itoa(j.Preemptions), f(j.LostGPUSeconds / 3600),
			f(j.Energy.ITkWh), f(j.Energy.FacilitykWh), f(j.Energy.CostEUR), f(j.Energy.CarbonKg), reason,
			jobSites(&j), f(gpuSeconds(&j) / 3600), strconv.Itoa(j.Deferrals), deadline, missed, strconv.Itoa(j.Failures + j.GPUFailures),
			strconv.Itoa(j.Recaps)})
	}
	cw.Flush()
	return cw.Error()
}

// jobSites is the sites a job ran on, in the order it first ran there,
// separated by ";".
func jobSites(j *JobRecord) string {
	var sites []string
	for _, s := range j.Runs {
		if !slices.Contains(sites, s.Site) {
			sites = append(sites, s.Site)
		}
	}
	return strings.Join(sites, ";")
}

// TenantShare is what a tenant got against what it was entitled to.
type TenantShare struct {
	Weight      float64 // fair-share weight (≤ 0 and unknown tenants count as 1, as in the core)
	GPUHours    float64 // GPU-hours its jobs held
	Share       float64 // its part of all delivered GPU-hours
	Entitlement float64 // its weight over the weights of the tenants that submitted work
	Ratio       float64 // Share / Entitlement
}

// Fairness is every submitting tenant's share against its entitlement and
// Jain's index over the ratios, (Σx)² / (n·Σx²): 1 when every tenant got
// exactly its entitlement, 1/n when one tenant got everything, 0 when
// nothing was delivered. The tree of cohorts is ignored: entitlement is
// flat over tenants.
func Fairness(fac *model.Facility, r *Result) (map[string]TenantShare, float64) {
	weights := map[string]float64{}
	for i := range fac.Tenants {
		weights[fac.Tenants[i].Name] = fac.Tenants[i].FairShareWeight
	}
	out := map[string]TenantShare{}
	for i := range r.Jobs {
		j := &r.Jobs[i]
		ts, ok := out[j.Job.Tenant]
		if !ok {
			ts.Weight = weights[j.Job.Tenant]
			if ts.Weight <= 0 {
				ts.Weight = 1
			}
		}
		ts.GPUHours += gpuSeconds(j) / 3600
		out[j.Job.Tenant] = ts
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	var hours, weight float64
	for _, n := range names {
		hours += out[n].GPUHours
		weight += out[n].Weight
	}
	var sum, sq float64
	for _, n := range names {
		ts := out[n]
		ts.Entitlement = ts.Weight / weight
		if hours > 0 {
			ts.Share = ts.GPUHours / hours
		}
		ts.Ratio = ts.Share / ts.Entitlement
		sum, sq = sum+ts.Ratio, sq+ts.Ratio*ts.Ratio
		out[n] = ts
	}
	if sq == 0 {
		return out, 0
	}
	return out, sum * sum / (float64(len(names)) * sq)
}

// rackSummaries is each capped rack's peak against its cap, and the
// number of racks above it.
func rackSummaries(fac *model.Facility, r *Result) (map[string]RackSummary, int) {
	out, breaches := map[string]RackSummary{}, 0
	var site map[string]string
	var staticW map[string]float64
	for _, rk := range fac.Racks {
		rp, ok := r.Racks[rk.ID]
		if !ok || rk.PowerCapKW <= 0 {
			continue
		}
		if staticW == nil {
			staticW = staticBy(fac, func(n *model.Node) string { return n.Rack })
			site = map[string]string{}
			for _, h := range fac.Halls {
				site[h.ID] = h.Site
			}
		}
		out[rk.ID] = RackSummary{Hall: rk.Hall, Site: site[rk.Hall], MaxITkW: round(rp.MaxITW / 1000), CapKW: rk.PowerCapKW,
			StaticKW: round(staticW[rk.ID] / 1000)}
		if rp.MaxITW > rk.PowerCapKW*1000*(1+1e-9) {
			breaches++
		}
	}
	return out, breaches
}
