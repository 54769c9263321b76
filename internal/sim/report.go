package sim

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/carnot-dc/carnot/internal/model"
)

// Summary is the headline of a run, written as summary.json. Field names
// are part of Carnot's interface: add fields, never rename them.
type Summary struct {
	Start          string                 `json:"start"`
	End            string                 `json:"end"`
	Passes         int                    `json:"passes"`
	Jobs           int                    `json:"jobs"`
	Finished       int                    `json:"finished"`
	NeverStarted   int                    `json:"never_started"`
	JCT            Quantiles              `json:"jct_seconds"`
	Wait           Quantiles              `json:"wait_seconds"`
	Preemptions    int                    `json:"preemptions"`
	LostGPUHours   float64                `json:"lost_gpu_hours"`
	Sites          map[string]SiteSummary `json:"sites"`
	Tenants        map[string]EnergyJSON  `json:"tenants"`
	EnvelopeBreach int                    `json:"envelope_violations"`
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
}

// EnergyJSON is Energy in reporting units.
type EnergyJSON struct {
	ITMWh       float64 `json:"it_mwh"`
	FacilityMWh float64 `json:"facility_mwh"`
	CostEUR     float64 `json:"cost_eur"`
	CarbonT     float64 `json:"carbon_tco2e"`
}

func energyJSON(e Energy) EnergyJSON {
	return EnergyJSON{ITMWh: round(e.ITkWh / 1000), FacilityMWh: round(e.FacilitykWh / 1000),
		CostEUR: round(e.CostEUR), CarbonT: round(e.CarbonKg / 1000)}
}

func round(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// Summarize computes the summary of a run on fac.
func Summarize(fac *model.Facility, r *Result) Summary {
	s := Summary{Start: r.Start.String(), End: r.End.String(), Passes: r.Passes, Jobs: len(r.Jobs),
		Sites: map[string]SiteSummary{}, Tenants: map[string]EnergyJSON{}}
	var jct, wait []float64
	for _, j := range r.Jobs {
		s.Preemptions += j.Preemptions
		s.LostGPUHours += j.LostGPUSeconds / 3600
		switch {
		case j.FirstStart == 0:
			s.NeverStarted++
		case j.End > 0:
			s.Finished++
			jct = append(jct, float64(j.End-j.Job.SubmitTime))
		}
		if j.FirstStart > 0 {
			wait = append(wait, float64(j.FirstStart-j.Job.SubmitTime))
		}
	}
	s.JCT, s.Wait = quantiles(jct), quantiles(wait)
	s.LostGPUHours = round(s.LostGPUHours)
	for _, site := range fac.Sites {
		e, ok := r.Sites[site.ID]
		if !ok {
			continue
		}
		s.Sites[site.ID] = SiteSummary{All: energyJSON(e.All), Jobs: energyJSON(e.Jobs), Idle: energyJSON(e.Idle),
			MaxITkW: round(e.MaxITW / 1000), EnvelopeKW: site.PowerEnvelopeKW}
		if site.PowerEnvelopeKW > 0 && e.MaxITW > site.PowerEnvelopeKW*1000*(1+1e-9) {
			s.EnvelopeBreach++
		}
	}
	for name, e := range r.Tenants {
		s.Tenants[name] = energyJSON(e)
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
	return Quantiles{Mean: round(sum / float64(len(v))), P50: at(0.5), P95: at(0.95), P99: at(0.99)}
}

// WriteSummary writes s as indented JSON.
func WriteSummary(w io.Writer, s Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteJobsCSV writes one row per job, in workload order.
func WriteJobsCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"job", "tenant", "gpus", "submit", "start", "end", "wait_s", "preemptions",
		"lost_gpu_h", "it_kwh", "facility_kwh", "cost_eur", "carbon_kg", "last_reason"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	for _, j := range r.Jobs {
		wait := ""
		if j.FirstStart > 0 {
			wait = strconv.FormatInt(int64(j.FirstStart-j.Job.SubmitTime), 10)
		}
		reason := ""
		if j.End == 0 {
			reason = j.LastReason
		}
		cw.Write([]string{j.Job.ID, j.Job.Tenant, strconv.Itoa(j.Job.TotalGPUs()), j.Job.SubmitTime.String(),
			j.FirstStart.String(), j.End.String(), wait, strconv.Itoa(j.Preemptions), f(j.LostGPUSeconds / 3600),
			f(j.Energy.ITkWh), f(j.Energy.FacilitykWh), f(j.Energy.CostEUR), f(j.Energy.CarbonKg), reason})
	}
	cw.Flush()
	return cw.Error()
}
