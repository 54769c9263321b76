package scenario

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/carnot-dc/carnot/internal/report"
)

// column is one metric of the HTML table and, when chart is set, of a
// bar chart. Values are shown in the unit after scale.
type column struct {
	key, label, unit string
	get              func(Metrics) float64
	scale            float64
	chart            bool
	count            bool // a whole number, shown without decimals
}

var columns = []column{
	{"finished", "jobs finished", "", func(m Metrics) float64 { return float64(m.Finished) }, 1, false, true},
	{"jct_mean_s", "mean JCT", "h", func(m Metrics) float64 { return m.JCTMeanS }, 1.0 / 3600, true, false},
	{"jct_p95_s", "p95 JCT", "h", func(m Metrics) float64 { return m.JCTP95S }, 1.0 / 3600, false, false},
	{"wait_mean_s", "mean wait", "h", func(m Metrics) float64 { return m.WaitMeanS }, 1.0 / 3600, true, false},
	{"wait_p95_s", "p95 wait", "h", func(m Metrics) float64 { return m.WaitP95S }, 1.0 / 3600, true, false},
	{"utilization", "utilization", "%", func(m Metrics) float64 { return m.Utilization }, 100, true, false},
	{"gpu_hours", "GPU-hours delivered", "GPU-h", func(m Metrics) float64 { return m.GPUHours }, 1, true, false},
	{"capped_gpu_hours", "of which capped", "GPU-h", func(m Metrics) float64 { return m.CappedGPUHours }, 1, false, false},
	{"gpu_hours_window", "GPU-hours while jobs arrive", "GPU-h", func(m Metrics) float64 { return m.GPUHoursWindow }, 1, true, false},
	{"work_gpu_hours_window", "of which work at full speed", "GPU-h", func(m Metrics) float64 { return m.WorkGPUHoursWindow }, 1, true, false},
	{"energy_mwh", "energy (facility)", "MWh", func(m Metrics) float64 { return m.EnergyMWh }, 1, true, false},
	{"cost_eur", "energy cost", "€", func(m Metrics) float64 { return m.CostEUR }, 1, true, false},
	{"carbon_tco2e", "carbon", "tCO2e", func(m Metrics) float64 { return m.CarbonT }, 1, true, false},
	{"unpriced_mwh", "unpriced energy", "MWh", func(m Metrics) float64 { return m.UnpricedMWh }, 1, false, false},
	{"jobs_cost_eur", "cost charged to jobs", "€", func(m Metrics) float64 { return m.JobsCostEUR }, 1, false, false},
	{"jobs_carbon_tco2e", "carbon charged to jobs", "tCO2e", func(m Metrics) float64 { return m.JobsCarbonT }, 1, true, false},
	{"flex_cost_eur", "cost of flexible jobs", "€", func(m Metrics) float64 { return m.FlexCostEUR }, 1, true, false},
	{"flex_carbon_tco2e", "carbon of flexible jobs", "tCO2e", func(m Metrics) float64 { return m.FlexCarbonT }, 1, true, false},
	{"max_it_kw", "peak IT power", "kW", func(m Metrics) float64 { return m.MaxITkW }, 1, false, false},
	{"envelope_kw", "envelope", "kW", func(m Metrics) float64 { return m.EnvelopeKW }, 1, false, false},
	{"peak_over_envelope", "peak / envelope", "%", func(m Metrics) float64 { return m.PeakOverEnvelope }, 100, true, false},
	{"envelope_violations", "envelope violations", "", func(m Metrics) float64 { return float64(m.EnvelopeViolations) }, 1, false, true},
	{"peak_over_hall_cap", "peak / hall cap", "%", func(m Metrics) float64 { return m.PeakOverHallCap }, 100, true, false},
	{"hall_cap_violations", "hall cap violations", "", func(m Metrics) float64 { return float64(m.HallCapViolations) }, 1, false, true},
	{"peak_over_rack_cap", "peak / rack cap", "%", func(m Metrics) float64 { return m.PeakOverRackCap }, 100, true, false},
	{"rack_cap_violations", "rack cap violations", "", func(m Metrics) float64 { return float64(m.RackCapViolations) }, 1, false, true},
	{"deadline_misses", "deadline misses", "", func(m Metrics) float64 { return float64(m.DeadlineMisses) }, 1, true, true},
	{"preemptions", "preemptions", "", func(m Metrics) float64 { return float64(m.Preemptions) }, 1, false, true},
	{"jain_index", "Jain fairness", "", func(m Metrics) float64 { return m.JainIndex }, 1, true, false},
}

// failureColumns are the failures' columns, after preemptions, on a
// page where some scenario has failures (a facility variant with mtbf or
// gpu_mtbf): elsewhere they would be columns of zeros.
var failureColumns = []column{
	{"node_failure_kills", "jobs killed by node failures", "", func(m Metrics) float64 { return float64(m.NodeFailureKills) }, 1, false, true},
	{"gpu_failure_kills", "jobs killed by GPU failures", "", func(m Metrics) float64 { return float64(m.GPUFailureKills) }, 1, false, true},
	{"gpu_failure_lost_gpu_hours", "work lost to GPU failures", "GPU-h", func(m Metrics) float64 { return m.GPUFailureLostGPUHours }, 1, false, false},
	{"gpu_down_hours", "GPUs down", "GPU-h", func(m Metrics) float64 { return m.GPUDownHours }, 1, false, false},
}

// pageColumns are the page's columns for scenarios ss: columns, with
// failureColumns when one of ss has failures.
func pageColumns(ss []ScenarioSummary) []column {
	i := slices.IndexFunc(ss, func(s ScenarioSummary) bool {
		m := s.Metrics
		return m.NodeFailureKills > 0 || m.GPUFailureKills > 0 || m.GPUDownHours > 0
	})
	if i < 0 {
		return columns
	}
	at := slices.IndexFunc(columns, func(c column) bool { return c.key == "preemptions" }) + 1
	return slices.Concat(columns[:at], failureColumns, columns[at:])
}

type htmlPage struct {
	Title      string
	Baseline   string
	BaseFailed bool // the baseline failed: no value has a change
	Variants   []htmlVariant
	Header     []htmlHeader
	Rows       []htmlRow
	Charts     []template.HTML
	Power      []htmlPower
	RackNotes  []string // scenarios whose racks the power table cuts
	HasErrors  bool
}

// htmlPower is one site, hall or capped rack of one scenario: its peak against its
// envelope or cap.
type htmlPower struct {
	Scenario, Kind, ID        string
	Peak, Limit, Ratio, Plate string
	Static                    string
	PeakExact, LimitExact     float64
}

type htmlVariant struct{ Axis, Name, Changes string }

type htmlHeader struct{ Key, Label string }

type htmlRow struct {
	Name, Error string
	Axes        [3]string
	Cells       []htmlCell
}

type htmlCell struct {
	Key, Value, Delta string
	Exact             float64
}

// WriteHTML renders p as one self-contained page: the variants, a table
// of scenarios × metrics (each with its change from the baseline) and a
// bar chart per charted metric. It fetches nothing and depends only on p.
func (p Plan) WriteHTML(w io.Writer) error {
	pg := htmlPage{Title: p.Name, Baseline: p.Baseline}
	cols := pageColumns(p.Scenarios)
	for _, c := range cols {
		label := c.label
		if c.unit != "" {
			label += ", " + c.unit
		}
		pg.Header = append(pg.Header, htmlHeader{c.key, label})
	}
	if pg.Title == "" {
		pg.Title = "Carnot plan"
	}
	for _, a := range []struct {
		axis string
		vs   []VariantJSON
	}{{"policy", p.Policies}, {"facility", p.Facilities}, {"grid", p.Grids}} {
		for _, v := range a.vs {
			pg.Variants = append(pg.Variants, htmlVariant{a.axis, v.Name, v.Changes})
		}
	}
	var base *ScenarioSummary
	for i := range p.Scenarios {
		if s := &p.Scenarios[i]; s.Name == p.Baseline {
			if s.Error == "" {
				base = s
			} else {
				pg.BaseFailed = true
			}
		}
	}
	var ran []ScenarioSummary // a failed scenario's zero metrics are no values
	for _, s := range p.Scenarios {
		row := htmlRow{Name: s.Name, Error: s.Error, Axes: [3]string{s.Policy, s.Facility, s.Grid}}
		pg.HasErrors = pg.HasErrors || s.Error != ""
		for _, c := range cols {
			v := c.get(s.Metrics) * c.scale
			cell := htmlCell{Key: c.key, Value: cellText(v, c.count), Exact: c.get(s.Metrics)}
			switch {
			case noValue(s, c.key):
				cell.Value = "-"
			case base != nil && s.Name != p.Baseline && !noValue(*base, c.key):
				cell.Delta = delta(v, c.get(base.Metrics)*c.scale)
			}
			row.Cells = append(row.Cells, cell)
		}
		pg.Rows = append(pg.Rows, row)
		if s.Error == "" {
			ran = append(ran, s)
		}
		pg.Power = append(pg.Power, powerRows(s)...)
		if len(s.Racks) > maxRackRows {
			pg.RackNotes = append(pg.RackNotes, fmt.Sprintf("%s: the %d of its %d capped racks closest to their cap, by peak / cap; plan.json lists them all.",
				s.Name, maxRackRows, len(s.Racks)))
		}
	}
	for _, c := range cols {
		if !c.chart {
			continue
		}
		var names []string // of the scenarios that ran and have a value
		var vals []float64
		for _, s := range ran {
			if !noValue(s, c.key) {
				names, vals = append(names, s.Name), append(vals, c.get(s.Metrics)*c.scale)
			}
		}
		if len(names) == 0 {
			continue
		}
		ch := report.Chart{Title: c.label, YLabel: c.unit}
		if len(names) > 10 { // the chart writes the names slanted
			ch.Height = 220 + 6*maxLen(names)
		}
		switch c.key {
		case "peak_over_envelope":
			ch.Rules = []report.Rule{{Y: 100, Label: "envelope"}}
		case "peak_over_hall_cap", "peak_over_rack_cap":
			ch.Rules = []report.Rule{{Y: 100, Label: "cap"}}
		}
		pg.Charts = append(pg.Charts, report.BarChart(ch, names, report.Bars{Name: c.label, Values: vals}))
	}
	return planTemplate.Execute(w, pg)
}

// powerRows are a scenario's sites, halls and capped racks for the
// page's power table.
func powerRows(s ScenarioSummary) []htmlPower {
	limit := func(kw float64) string {
		if kw <= 0 {
			return "none"
		}
		return cellText(kw, false)
	}
	ratio := func(r, kw float64) string {
		if kw <= 0 {
			return ""
		}
		return cellText(100*r, false)
	}
	var out []htmlPower
	for _, p := range s.Sites {
		out = append(out, htmlPower{Scenario: s.Name, Kind: "site", ID: p.ID, Peak: cellText(p.MaxITkW, false),
			Limit: limit(p.EnvelopeKW), Ratio: ratio(p.PeakOverEnvelope, p.EnvelopeKW), Plate: cellText(p.NameplateKW, false),
			Static: cellText(p.StaticKW, false), PeakExact: p.MaxITkW, LimitExact: p.EnvelopeKW})
	}
	for _, p := range s.Halls {
		out = append(out, htmlPower{Scenario: s.Name, Kind: "hall", ID: p.ID, Peak: cellText(p.MaxITkW, false),
			Limit: limit(p.CapKW), Ratio: ratio(p.PeakOverCap, p.CapKW), Plate: cellText(p.NameplateKW, false),
			Static: cellText(p.StaticKW, false), PeakExact: p.MaxITkW, LimitExact: p.CapKW})
	}
	for _, p := range closestRacks(s.Racks) {
		out = append(out, htmlPower{Scenario: s.Name, Kind: "rack", ID: p.ID, Peak: cellText(p.MaxITkW, false),
			Limit: limit(p.CapKW), Ratio: ratio(p.PeakOverCap, p.CapKW), Plate: cellText(p.NameplateKW, false),
			Static: cellText(p.StaticKW, false), PeakExact: p.MaxITkW, LimitExact: p.CapKW})
	}
	return out
}

// maxRackRows bounds a scenario's racks in the page's power table: a
// facility can cap thousands of racks (the benchmark facility 2,160),
// which plan.json lists in full.
const maxRackRows = 20

// closestRacks are the racks with the highest peak / cap, at most
// maxRackRows of them, highest first (then in ID order).
func closestRacks(racks []RackPower) []RackPower {
	out := slices.Clone(racks)
	slices.SortStableFunc(out, func(a, b RackPower) int { return cmp.Compare(b.PeakOverCap, a.PeakOverCap) })
	return out[:min(len(out), maxRackRows)]
}

// noValue reports whether the column key has no value for s: the peak
// over a cap of a kind its facility does not have (plan.json's 0). The
// page shows "-" there, as the table carnot plan prints does, and no
// change from or to it.
func noValue(s ScenarioSummary, key string) bool {
	switch key {
	case "peak_over_hall_cap":
		return !anyHallCap([]ScenarioSummary{s})
	case "peak_over_rack_cap":
		return !anyRack([]ScenarioSummary{s})
	}
	return false
}

// anyRack reports whether one of the scenarios has a capped rack.
func anyRack(ss []ScenarioSummary) bool {
	for _, s := range ss {
		if len(s.Racks) > 0 {
			return true
		}
	}
	return false
}

// anyHallCap reports whether a hall of one of the scenarios has a cap.
func anyHallCap(ss []ScenarioSummary) bool {
	for _, s := range ss {
		for _, h := range s.Halls {
			if h.CapKW > 0 {
				return true
			}
		}
	}
	return false
}

// delta is v's change from base, as a signed percentage (or difference
// when base is 0).
func delta(v, base float64) string {
	switch {
	case v == base:
		return "="
	case base == 0 && v < 0:
		return report.Num(v)
	case base == 0:
		return "+" + report.Num(v)
	}
	d := 100 * (v - base) / math.Abs(base)
	if math.Abs(d) < 0.05 { // would read "0.0%" or "-0.0%": a change all the same
		if d > 0 {
			return "+<0.1%"
		}
		return "-<0.1%"
	}
	s := strconv.FormatFloat(d, 'f', 1, 64) + "%"
	if d > 0 {
		s = "+" + s
	}
	return s
}

// cellText shows a table value with the digits a comparison needs:
// whole numbers from 100 on, and for counts (with thin spaces between
// thousands), one decimal from 10, else three significant digits, the
// trailing zeros kept so that a column's values line up (2.00 beside
// 6.46, not 2); below 1e-6, with an exponent (4.00e-07).
func cellText(v float64, count bool) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'f', -1, 64)
	case a >= 100 || count:
		s := strconv.FormatFloat(math.Round(a), 'f', 0, 64)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "\u2009" + s[i:]
		}
		if v < 0 && s != "0" {
			s = "-" + s
		}
		return s
	case a == 0:
		return "0"
	case a < 1e-6: // six decimals would read 0.000000
		return strconv.FormatFloat(v, 'e', 2, 64)
	}
	d, next := 2, 10.0 // the decimals of a's range, and where the next range starts
	switch {
	case a >= 10:
		d, next = 1, 100
	case a < 1:
		d, next = min(6, 2-int(math.Floor(math.Log10(a)))), 1
	}
	s := strconv.FormatFloat(v, 'f', d, 64)
	if r, _ := strconv.ParseFloat(s, 64); math.Abs(r) >= next {
		return cellText(r, false) // rounded up into the next range (9.999 is 10.0, not 10.00)
	}
	return s
}

func maxLen(names []string) int {
	n := 0
	for _, s := range names {
		n = max(n, len(s))
	}
	return min(n, 40)
}
