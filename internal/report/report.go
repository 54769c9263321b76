// Package report renders a twin run as one self-contained HTML page:
// a headline table and inline SVG charts, with no script, stylesheet,
// font or image fetched from anywhere, so it opens offline. The chart
// primitives (LineChart, CDFChart, BarChart) are general and may be used
// by other reports. Output depends only on the input: the same run gives
// byte-identical HTML.
package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sim"
)

// Input is what a report shows: a run, its summary and the grid series
// it was priced with.
type Input struct {
	Title    string // default "Carnot digital twin"
	Facility *model.Facility
	Result   *sim.Result
	Summary  sim.Summary
	Grid     []model.GridSeries
}

// Row is one line of the headline table; Key is its summary.json name.
type Row struct {
	Key, Label string
	Value      float64
	Unit       string
}

// Figure is a chart, or a note where a chart could not be drawn.
type Figure struct {
	SVG  template.HTML
	Note string
}

type page struct {
	Title, Facility, Start, End string
	Headline                    []Row
	Notes                       []string // why jobs of the input were left out (Summary.Notes)
	Tenants                     []tenantRow
	Sites                       []siteRow
	Halls                       []hallRow
	Racks                       []rackRow
	RacksCapped                 int // all the capped racks, of which Racks are the closest to their cap
	Figures                     []Figure
}

type tenantRow struct {
	Name string
	sim.TenantSummary
}

type hallRow struct {
	ID string
	sim.HallSummary
}

type rackRow struct {
	ID string
	sim.RackSummary
}

// maxRackRows bounds the page's rack table: a facility can cap
// thousands of racks (the benchmark facility 2,160), which summary.json
// lists in full.
const maxRackRows = 20

// closestRacks are the racks with the highest peak / cap, at most
// maxRackRows of them, highest first (then by ID).
func closestRacks(racks map[string]sim.RackSummary) []rackRow {
	rows := make([]rackRow, 0, len(racks))
	for _, id := range sortedKeys(racks) {
		rows = append(rows, rackRow{id, racks[id]})
	}
	ratio := func(r rackRow) float64 {
		if r.CapKW <= 0 {
			return 0
		}
		return r.MaxITkW / r.CapKW
	}
	sort.SliceStable(rows, func(i, j int) bool { return ratio(rows[i]) > ratio(rows[j]) })
	return rows[:min(len(rows), maxRackRows)]
}

type siteRow struct {
	ID string
	sim.SiteSummary
}

// Write renders the report of in to w.
func Write(w io.Writer, in Input) error {
	s := in.Summary
	p := page{Title: in.Title, Start: s.Start, End: s.End, Headline: Headline(s), Notes: s.Notes}
	if p.Title == "" {
		p.Title = "Carnot digital twin"
	}
	if in.Facility != nil {
		p.Facility = in.Facility.Name
	}
	for _, name := range sortedKeys(s.Tenants) {
		p.Tenants = append(p.Tenants, tenantRow{name, s.Tenants[name]})
	}
	for _, id := range sortedKeys(s.Sites) {
		p.Sites = append(p.Sites, siteRow{id, s.Sites[id]})
	}
	for _, id := range sortedKeys(s.Halls) {
		p.Halls = append(p.Halls, hallRow{id, s.Halls[id]})
	}
	p.Racks, p.RacksCapped = closestRacks(s.Racks), len(s.Racks)
	p.Figures = figures(in)
	return pageTemplate.Execute(w, p)
}

// Headline is the rows of the headline table, with the values of s.
func Headline(s sim.Summary) []Row {
	return []Row{
		{"jobs", "jobs", float64(s.Jobs), ""},
		{"left_out", "jobs of the input left out before the run", float64(s.LeftOut), ""},
		{"finished", "finished", float64(s.Finished), ""},
		{"never_started", "never started", float64(s.NeverStarted), ""},
		{"jct_seconds.mean", "job completion time, mean", s.JCT.Mean, "s"},
		{"jct_seconds.p50", "job completion time, p50", s.JCT.P50, "s"},
		{"jct_seconds.p95", "job completion time, p95", s.JCT.P95, "s"},
		{"jct_seconds.p99", "job completion time, p99", s.JCT.P99, "s"},
		{"wait_seconds.mean", "queueing delay, mean", s.Wait.Mean, "s"},
		{"wait_seconds.p50", "queueing delay, p50", s.Wait.P50, "s"},
		{"wait_seconds.p95", "queueing delay, p95", s.Wait.P95, "s"},
		{"wait_seconds.p99", "queueing delay, p99", s.Wait.P99, "s"},
		{"bounded_slowdown.mean", "bounded slowdown (τ = 10 s), mean", s.BoundedSlowdown.Mean, ""},
		{"bounded_slowdown.p95", "bounded slowdown (τ = 10 s), p95", s.BoundedSlowdown.P95, ""},
		{"utilization_mean", "GPU utilization, mean", s.UtilizationMean, "fraction"},
		{"gpu_hours", "GPU-hours delivered", s.GPUHours, "GPU-h"},
		{"jain_index", "Jain's index of share / entitlement", s.JainIndex, ""},
		{"preemptions", "preemptions", float64(s.Preemptions), ""},
		{"lost_gpu_hours", "GPU-hours lost to preemptions and failures", s.LostGPUHours, "GPU-h"},
		{"node_failure_kills", "running jobs killed by node failures", float64(s.Failures), ""},
		{"gpu_failure_kills", "running jobs killed by GPU failures", float64(s.GPUFailures), ""},
		{"gpu_failure_lost_gpu_hours", "GPU-hours lost to GPU failures", s.GPUFailureLost, "GPU-h"},
		{"gpu_down_hours", "GPU-hours of GPUs down", s.GPUDownHours, "GPU-h"},
		{"recaps", "power caps of running jobs changed (lent power)", float64(s.Recaps), ""},
		{"total.it_mwh", "IT energy", s.Total.ITMWh, "MWh"},
		{"total.facility_mwh", "facility energy (× PUE)", s.Total.FacilityMWh, "MWh"},
		{"total.cost_eur", "energy cost", s.Total.CostEUR, "EUR"},
		{"total.carbon_tco2e", "carbon", s.Total.CarbonT, "tCO2e"},
		{"total.unpriced_mwh", "facility energy outside the grid series (not priced)", s.Total.UnpricedMWh, "MWh"},
		{"envelope_violations", "sites above their power envelope", float64(s.EnvelopeBreach), ""},
		{"hall_cap_violations", "halls above their power cap", float64(s.HallCapBreach), ""},
		{"rack_cap_violations", "racks above their power cap", float64(s.RackCapBreach), ""},
		{"deadline_jobs", "jobs with a deadline", float64(s.DeadlineJobs), ""},
		{"deadline_misses", "deadline misses", float64(s.DeadlineMisses), ""},
		{"passes", "scheduling passes", float64(s.Passes), ""},
	}
}

// figures draws every chart of the report.
func figures(in Input) []Figure {
	s, r := in.Summary, in.Result
	tl := s.Timeline
	xs := make([]float64, tl.Points)
	util, queue := make([]float64, tl.Points), make([]float64, tl.Points)
	for k := range tl.Points {
		xs[k] = float64(tl.StartUnix + int64(k)*tl.StepSeconds)
		util[k], queue[k] = 100*tl.Utilization[k], float64(tl.Queue[k])
	}
	var start, end float64
	if r != nil {
		start, end = float64(r.Start), float64(r.End)
	}
	step := stepLabel(tl.StepSeconds) + " window"
	figs := []Figure{
		{SVG: LineChart(Chart{Title: "GPU utilization (mean over each " + step + ")", XTime: true, XFrom: start, XTo: end,
			YFrom: 0, YTo: 100, YLabel: "busy GPUs, % of all", XLabel: "time (UTC)"},
			Series{Name: "utilization", X: xs, Y: util, Step: true})},
		{SVG: LineChart(Chart{Title: "Queue length (jobs waiting at the start of each window)", XTime: true, XFrom: start,
			XTo: end, YLabel: "jobs queued", XLabel: "time (UTC)"},
			Series{Name: "queued", X: xs, Y: queue, Step: true, Color: "orange"})},
	}
	if r != nil {
		figs = append(figs, Figure{SVG: CDFChart(Chart{Title: "Job completion time, CDF (finished jobs)", LogX: true,
			XLabel: "completion time, s (log scale)", YLabel: "fraction of finished jobs"},
			Sample{Name: "JCT", Values: sim.CompletionTimes(r)})})
	}
	names := sortedKeys(s.Tenants)
	share, ent := make([]float64, len(names)), make([]float64, len(names))
	for i, n := range names {
		share[i], ent[i] = 100*s.Tenants[n].Share, 100*s.Tenants[n].Entitlement
	}
	figs = append(figs, Figure{SVG: BarChart(Chart{Title: "Share of delivered GPU-hours vs entitlement, by tenant",
		YLabel: "% of GPU-hours"}, names, Bars{Name: "share", Values: share}, Bars{Name: "entitlement", Values: ent, Color: "green"})})
	for _, id := range sortedKeys(s.Sites) {
		site := s.Sites[id]
		var rules []Rule
		if site.EnvelopeKW > 0 {
			rules = append(rules, Rule{Y: site.EnvelopeKW, Label: "envelope " + value(site.EnvelopeKW) + " kW"})
		}
		figs = append(figs, Figure{SVG: LineChart(Chart{Title: "Site " + id + ": IT power (highest in each " + step + ") vs envelope",
			XTime: true, XFrom: start, XTo: end, YLabel: "kW", XLabel: "time (UTC)", Rules: rules},
			Series{Name: "IT draw", X: xs, Y: tl.SitePowerKW[id], Step: true, Color: "red"})})
	}
	if in.Facility != nil && r != nil {
		figs = append(figs, gridFigures(in.Facility, r, in.Grid)...)
	}
	return figs
}

// gridFigures draws each grid zone's price and carbon intensity over the
// run, with the stints of deferred jobs on that zone's sites shaded.
func gridFigures(fac *model.Facility, r *sim.Result, grid []model.GridSeries) []Figure {
	zoneOf := map[string]string{}
	for _, site := range fac.Sites {
		if site.GridZone != "" {
			zoneOf[site.ID] = site.GridZone
		}
	}
	bands := map[string][]Band{}
	for _, j := range r.Jobs {
		if j.Deferrals == 0 {
			continue
		}
		for _, st := range j.Runs {
			if z := zoneOf[st.Site]; z != "" {
				bands[z] = append(bands[z], Band{From: float64(st.Start), To: float64(st.End)})
			}
		}
	}
	zones := map[string]bool{}
	for _, z := range zoneOf {
		zones[z] = true
	}
	var figs []Figure
	for _, z := range sortedKeys(zones) {
		var x, price, carbon []float64
		for _, gs := range grid {
			if gs.Zone != z {
				continue
			}
			for _, h := range gs.Hours {
				if h.Start+3600 > r.Start && h.Start < r.End {
					x, price, carbon = append(x, float64(h.Start)), append(price, h.PriceEURMWh), append(carbon, h.CarbonGkWh)
				}
			}
		}
		if len(x) == 0 {
			figs = append(figs, Figure{Note: "Grid zone " + z + ": no hourly series covers the run (" + r.Start.String() +
				" to " + r.End.String() + "), so it has no price or carbon chart."})
			continue
		}
		c := Chart{XTime: true, XFrom: float64(r.Start), XTo: float64(r.End), XLabel: "time (UTC)",
			Bands: bands[z], BandLabel: "deferred jobs running"}
		until := x[len(x)-1] + 3600 // the lines stop where the series does
		c.Title, c.YLabel = "Grid zone "+z+": day-ahead price, with deferred work shaded", "EUR/MWh"
		pc := LineChart(c, Series{Name: "price", X: x, Y: price, Step: true, StepEnd: until, Color: "purple"})
		c.Title, c.YLabel = "Grid zone "+z+": carbon intensity, with deferred work shaded", "gCO2e/kWh"
		cc := LineChart(c, Series{Name: "carbon", X: x, Y: carbon, Step: true, StepEnd: until, Color: "green"})
		figs = append(figs, Figure{SVG: pc}, Figure{SVG: cc})
		if note := uncovered(r, zoneOf, z); note != "" {
			figs = append(figs, Figure{Note: note})
		}
	}
	return figs
}

// uncovered says how much energy the sites of zone z drew in hours
// that its series does not hold ("" when none): cost and carbon leave
// it out, and the charts above end where the series does.
func uncovered(r *sim.Result, zoneOf map[string]string, z string) string {
	var kwh, all float64
	for _, id := range sortedKeys(r.Sites) { // one order of addition: the same bytes on every run
		if e := r.Sites[id]; zoneOf[id] == z {
			kwh, all = kwh+e.All.UnpricedkWh, all+e.All.FacilitykWh
		}
	}
	if kwh <= 0 {
		return ""
	}
	return fmt.Sprintf("Grid zone %s: the series does not cover the whole run; %s MWh (%s %% of the facility energy of its sites) "+
		"were drawn in hours it does not hold and are left out of cost and carbon.", z, Num(kwh/1000), Num(100*kwh/all))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// stepLabel is a sampling step in its largest whole unit.
func stepLabel(sec int64) string {
	switch {
	case sec > 0 && sec%86400 == 0:
		return fmt.Sprintf("%d d", sec/86400)
	case sec > 0 && sec%3600 == 0:
		return fmt.Sprintf("%d h", sec/3600)
	case sec > 0 && sec%60 == 0:
		return fmt.Sprintf("%d min", sec/60)
	}
	return fmt.Sprintf("%d s", sec)
}

// value is a number as the tables show it: three decimals at most, and
// 0 (not -0) for a small negative one.
func value(x float64) string {
	r := math.Round(x*1000) / 1000
	if r == 0 {
		r = 0 // -0 too
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// exact is a number in full, for the data-value attribute.
func exact(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// human is a duration in seconds as days, hours and minutes.
func human(sec float64) string {
	if sec < 120 {
		return ""
	}
	d := model.Duration(sec)
	switch {
	case d >= model.Day:
		return fmt.Sprintf("≈ %dd %dh", d/model.Day, d%model.Day/model.Hour)
	case d >= model.Hour:
		return fmt.Sprintf("≈ %dh %dm", d/model.Hour, d%model.Hour/model.Minute)
	}
	return fmt.Sprintf("≈ %dm", d/model.Minute)
}
