package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/sim"
	"github.com/carnot-dc/carnot/internal/workload"
)

const t0 model.Time = 1767225600 // 2026-01-01T00:00:00Z

// run simulates a generated workload on two sites with hourly prices.
func run(t *testing.T) Input {
	t.Helper()
	fac := workload.GenerateFacility(workload.FacilityConfig{Nodes: 24, Sites: 2, Tenants: 4, Cohorts: 2, Seed: 3})
	var grid []model.GridSeries
	for _, s := range fac.Sites {
		gs := model.GridSeries{Zone: s.GridZone}
		for h := 0; h < 24*60; h++ {
			gs.Hours = append(gs.Hours, model.GridHour{Start: t0 + model.Time(h*3600),
				PriceEURMWh: float64(40 + (h*37)%90 - 20), CarbonGkWh: float64(20 + (h*13)%60)})
		}
		grid = append(grid, gs)
	}
	res, err := sim.Run(sim.Config{Facility: fac, Jobs: workload.Generate(fac, 150, 3, t0), Grid: grid}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Input{Facility: fac, Result: res, Summary: sim.Summarize(fac, res), Grid: grid}
}

// parse checks that the page is well-formed (as XML: every element
// closed, attributes quoted, entities known) and returns its elements'
// start tags in order.
func parse(t *testing.T, page []byte) []xml.StartElement {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	var starts []xml.StartElement
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return starts
		}
		if err != nil {
			t.Fatalf("the report is not well-formed: %v", err)
		}
		if s, ok := tok.(xml.StartElement); ok {
			starts = append(starts, s.Copy())
		}
	}
}

func attr(s xml.StartElement, name string) (string, bool) {
	for _, a := range s.Attr {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func TestReport(t *testing.T) {
	in := run(t)
	var a, b bytes.Buffer
	if err := Write(&a, in); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two reports of the same run differ")
	}
	page := a.String()
	for _, bad := range []string{"http://", "https://", "<script", "<link", "<img", "url(", "@import", "src="} {
		if strings.Contains(page, bad) {
			t.Errorf("the report contains %q; it must open offline", bad)
		}
	}
	svgs := 0
	for _, s := range parse(t, a.Bytes()) {
		if s.Name.Local == "svg" {
			svgs++
		}
	}
	// utilization, queue, JCT CDF, shares, one power chart per site and
	// a price and a carbon chart per grid zone
	if want := 4 + len(in.Facility.Sites) + 2*len(in.Grid); svgs != want {
		t.Errorf("%d charts, want %d", svgs, want)
	}
	if in.Summary.Finished == 0 || in.Summary.Preemptions == 0 {
		t.Errorf("the run is too tame to test the report: %+v", in.Summary)
	}
}

// TestHeadlineMatchesSummary reads every headline cell back and compares
// it with the summary.json field its data-key names.
func TestHeadlineMatchesSummary(t *testing.T) {
	in := run(t)
	var page bytes.Buffer
	if err := Write(&page, in); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(in.Summary)
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	lookup := func(key string) (float64, bool) {
		var v any = doc
		for _, part := range strings.Split(key, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return 0, false
			}
			v = m[part]
		}
		f, ok := v.(float64)
		return f, ok
	}
	d := xml.NewDecoder(&page)
	cells := 0
	shownKeys := map[string]bool{}
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		s, ok := tok.(xml.StartElement)
		key, has := attr(s, "data-key")
		if !ok || !has {
			continue
		}
		cells++
		shownKeys[key] = true
		want, ok := lookup(key)
		if !ok {
			t.Errorf("data-key %q is not a number in summary.json", key)
			continue
		}
		exactV, _ := attr(s, "data-value")
		text, _ := d.Token()
		shown, err := strconv.ParseFloat(strings.TrimSpace(string(text.(xml.CharData))), 64)
		if got, err2 := strconv.ParseFloat(exactV, 64); err2 != nil || got != want || err != nil || math.Abs(shown-want) > 5e-4+1e-9 { // three decimals: off by half a thousandth at most, ties included
			t.Errorf("%s: shown %q (data-value %q), summary.json has %v", key, text, exactV, want)
		}
	}
	if cells != len(Headline(in.Summary)) || cells < 20 {
		t.Errorf("%d headline cells", cells)
	}
	// every number of summary.json's top level and of its total is shown
	for k, v := range doc {
		if _, num := v.(float64); num && !shownKeys[k] {
			t.Errorf("summary.json's %s is not in the report's headline", k)
		}
	}
	for k := range doc["total"].(map[string]any) {
		if !shownKeys["total."+k] {
			t.Errorf("summary.json's total.%s is not in the report's headline", k)
		}
	}
}

// TestEscaping: names from the input cannot inject markup.
func TestEscaping(t *testing.T) {
	evil := `<script>alert("x")</script>&`
	in := Input{Title: evil, Facility: &model.Facility{Name: evil},
		Summary: sim.Summary{Tenants: map[string]sim.TenantSummary{evil: {Jobs: 1}},
			Sites: map[string]sim.SiteSummary{evil: {EnvelopeKW: 10}}}}
	var page bytes.Buffer
	if err := Write(&page, in); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page.String(), "<script") {
		t.Fatal("a tenant, site or facility name injected a script")
	}
	parse(t, page.Bytes())
}

// TestLeftOutNotes: the page said how many jobs of the input were left
// out before the run, but not why (summary.json's notes); it lists the
// notes under the headline, escaped, and none when there are none.
func TestLeftOutNotes(t *testing.T) {
	in := run(t)
	in.Summary.LeftOut = 3
	in.Summary.Notes = []string{"3 jobs ask for more GPUs than a VC has <8>"}
	var page bytes.Buffer
	if err := Write(&page, in); err != nil {
		t.Fatal(err)
	}
	parse(t, page.Bytes())
	if want := "<li>3 jobs ask for more GPUs than a VC has &lt;8&gt;</li>"; !strings.Contains(page.String(), want) {
		t.Errorf("the page does not list the note %s", want)
	}
	in.Summary.LeftOut, in.Summary.Notes = 0, nil
	page.Reset()
	if err := Write(&page, in); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page.String(), `<ul class="notes">`) {
		t.Error("a run that left nothing out lists notes")
	}
}

// TestEnvelopeLabelExact: the power chart's envelope rule read
// "envelope 122 kW" for a site whose envelope is 121.6 kW (the site
// table beside it says 121.6): three significant digits are for axis
// ticks, not for a configured limit.
func TestEnvelopeLabelExact(t *testing.T) {
	in := run(t)
	for id, s := range in.Summary.Sites {
		s.EnvelopeKW = 121.6
		in.Summary.Sites[id] = s
	}
	var page bytes.Buffer
	if err := Write(&page, in); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(page.String(), ">envelope 121.6 kW<"); got != len(in.Summary.Sites) {
		t.Errorf("%d power charts label the envelope 121.6 kW, want %d", got, len(in.Summary.Sites))
	}
}

// TestRackTable: a capped rack's peak is shown against its cap, as a
// hall's is; a report without capped racks has no rack table.
func TestRackTable(t *testing.T) {
	in := run(t)
	in.Summary.Racks = map[string]sim.RackSummary{"s/h/r1": {Hall: "s/h", Site: "s", MaxITkW: 12.5, CapKW: 13.2, StaticKW: 3.1}}
	var page bytes.Buffer
	if err := Write(&page, in); err != nil {
		t.Fatal(err)
	}
	parse(t, page.Bytes())
	want := `<tr><th>s/h/r1</th><td>s/h</td><td>s</td><td class="num">13.2</td><td class="num">3.1</td><td class="num">12.5</td></tr>`
	if !strings.Contains(page.String(), `<table class="racks">`) || !strings.Contains(page.String(), want) {
		t.Errorf("the page has no rack row %s", want)
	}
	in.Summary.Racks = nil
	page.Reset()
	if err := Write(&page, in); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page.String(), `<table class="racks">`) {
		t.Error("a run without capped racks has a rack table")
	}
}

// TestRackTableShowsClosest: a facility can have thousands of capped
// racks (the benchmark facility 2,160, which made report.html six times
// larger); the page lists the racks closest to their cap, highest
// peak / cap first, and says how many summary.json holds.
func TestRackTableShowsClosest(t *testing.T) {
	in := run(t)
	in.Summary.Racks = map[string]sim.RackSummary{}
	for i := range 30 {
		in.Summary.Racks[fmt.Sprintf("s/h/r%02d", i)] = sim.RackSummary{Hall: "s/h", Site: "s", MaxITkW: float64(i), CapKW: 40}
	}
	var page bytes.Buffer
	if err := Write(&page, in); err != nil {
		t.Fatal(err)
	}
	parse(t, page.Bytes())
	text := page.String()
	if n := strings.Count(text, "<tr><th>s/h/r"); n != maxRackRows {
		t.Errorf("%d rack rows, want %d", n, maxRackRows)
	}
	if first, last := strings.Index(text, "<th>s/h/r29</th>"), strings.Index(text, fmt.Sprintf("<th>s/h/r%02d</th>", 30-maxRackRows)); first < 0 || last < first ||
		strings.Contains(text, fmt.Sprintf("<th>s/h/r%02d</th>", 29-maxRackRows)) {
		t.Errorf("the rows are not the %d racks closest to their cap, closest first", maxRackRows)
	}
	if want := fmt.Sprintf("The %d of 30 racks closest to their cap", maxRackRows); !strings.Contains(text, want) {
		t.Errorf("the page does not say %q", want)
	}
}
