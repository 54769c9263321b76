package scenario

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/sim"
)

// SchemaVersion is plan.json's "schema"; it changes only when a field is
// renamed or removed (adding fields keeps it).
const SchemaVersion = 1

// Plan is plan.json: the set's name, its variants and one entry per
// scenario in the set's order. It holds nothing that depends on the
// machine, the paths or the number of workers.
type Plan struct {
	Schema     int               `json:"schema"`
	Name       string            `json:"name"`
	Baseline   string            `json:"baseline"`
	Policies   []VariantJSON     `json:"policies"`
	Facilities []VariantJSON     `json:"facilities"`
	Grids      []VariantJSON     `json:"grids"`
	Scenarios  []ScenarioSummary `json:"scenarios"`
}

// VariantJSON names a variant and says what it changes.
type VariantJSON struct {
	Name    string `json:"name"`
	Changes string `json:"changes"`
}

// ScenarioSummary is one scenario of plan.json.
type ScenarioSummary struct {
	Name     string  `json:"name"`
	Policy   string  `json:"policy"`
	Facility string  `json:"facility"`
	Grid     string  `json:"grid"`
	Metrics  Metrics `json:"metrics"`
	// Sites and Halls are each site's and hall's peak IT draw against
	// its envelope or power cap, in ID order (none for a failed run).
	Sites []SitePower `json:"sites,omitempty"`
	Halls []HallPower `json:"halls,omitempty"`
	// Racks are the capped racks' peaks against their caps.
	Racks []RackPower `json:"racks,omitempty"`
	Error string      `json:"error,omitempty"`
}

// NewPlan gathers the outcomes of s's scenarios (in s's order).
func NewPlan(s *Set, out []Outcome) Plan {
	p := Plan{Schema: SchemaVersion, Name: s.Name, Baseline: s.Baseline}
	if p.Baseline == "" && len(s.Scenarios) > 0 {
		p.Baseline = s.Scenarios[0].Name
	}
	for _, v := range s.Policies {
		p.Policies = append(p.Policies, VariantJSON{v.Name, v.describe()})
	}
	for _, v := range s.Facilities {
		p.Facilities = append(p.Facilities, VariantJSON{v.Name, v.describe()})
	}
	for _, v := range s.Grids {
		p.Grids = append(p.Grids, VariantJSON{v.Name, v.describe()})
	}
	for _, o := range out {
		ss := ScenarioSummary{Name: o.Name, Policy: o.Axes[0], Facility: o.Axes[1], Grid: o.Axes[2], Metrics: o.Metrics,
			Sites: o.Sites, Halls: o.Halls, Racks: o.Racks}
		if o.Err != nil {
			ss.Error = o.Err.Error()
		}
		p.Scenarios = append(p.Scenarios, ss)
	}
	return p
}

// WriteJSON writes p as indented JSON.
func (p Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

func (pv PolicyVariant) describe() string {
	if len(pv.Set) == 0 {
		return "the facility's policy"
	}
	return strings.Join(pv.settings(), " ")
}

func (fv FacilityVariant) describe() string {
	var parts []string
	if fv.FileAs != "" {
		parts = append(parts, "facility="+fv.FileAs)
	}
	if fv.GPUScale != 1 {
		parts = append(parts, "gpu_scale="+strconv.FormatFloat(fv.GPUScale, 'g', -1, 64))
	}
	if fv.EnvelopeFraction > 0 {
		parts = append(parts, "envelope_fraction="+strconv.FormatFloat(fv.EnvelopeFraction, 'g', -1, 64))
	}
	if fv.MTBF > 0 {
		parts = append(parts, "mtbf="+fv.MTBF.String())
	}
	if fv.MTTR > 0 {
		parts = append(parts, "mttr="+fv.MTTR.String())
	}
	if fv.GPUMTBF > 0 {
		parts = append(parts, "gpu_mtbf="+fv.GPUMTBF.String())
	}
	if fv.GPUMTTR > 0 {
		parts = append(parts, "gpu_mttr="+fv.GPUMTTR.String())
	}
	for _, pc := range fv.PowerCaps {
		parts = append(parts, pc.ID+"="+strconv.FormatFloat(pc.KW, 'g', -1, 64)+"kW")
	}
	if len(parts) == 0 {
		return "the base facility"
	}
	return strings.Join(parts, " ")
}

func (gv GridVariant) describe() string {
	if gv.Zone == "" {
		return "each site's own grid zone"
	}
	return "every site on zone " + gv.Zone
}

// ScenarioOutputs are the files ScenarioFiles writes into a scenario's
// folder: its summary.json and jobs.csv (sim's formats).
var ScenarioOutputs = []string{"summary.json", "jobs.csv"}

// ScenarioFiles returns a RunOptions.Finish that writes a scenario's
// ScenarioOutputs into dir/<scenario>/.
func ScenarioFiles(dir string) func(c *Case, res *sim.Result, sum sim.Summary) error {
	return func(c *Case, res *sim.Result, sum sim.Summary) error {
		d := filepath.Join(dir, c.Scenario.Name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := WriteFile(filepath.Join(d, ScenarioOutputs[0]), func(w io.Writer) error { return sim.WriteSummary(w, sum) }); err != nil {
			return err
		}
		return WriteFile(filepath.Join(d, ScenarioOutputs[1]), func(w io.Writer) error { return sim.WriteJobsCSV(w, res) })
	}
}

// WriteFile creates path and writes it through a buffer with fn.
func WriteFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = fn(w)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
