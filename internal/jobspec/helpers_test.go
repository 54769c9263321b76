package jobspec

import (
	"errors"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// testFacility is a small facility: an FR site with two H100 nodes, a US
// site with one H200 node, an empty DE site, four tenants, three classes.
func testFacility() *model.Facility {
	return &model.Facility{
		Name: "test",
		GPUModels: map[string]model.GPUModel{
			"H100": {Name: "H100", TDPWatts: 700},
			"H200": {Name: "H200", TDPWatts: 700},
			"B200": {Name: "B200", TDPWatts: 1000}, // in the catalog, on no node
		},
		Sites: []model.Site{
			{ID: "par", Country: "FR", Jurisdictions: []string{"EU", "FR"}},
			{ID: "nyc", Country: "US", Jurisdictions: []string{"US"}},
			{ID: "ber", Country: "DE", Jurisdictions: []string{"EU", "DE"}}, // no nodes
		},
		Nodes: []model.Node{
			{Name: "h100-1", Site: "par", GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048},
			{Name: "h100-2", Site: "par", GPUModel: "H100", GPUs: 8, CPUs: 112, MemoryGiB: 2048},
			{Name: "h200-1", Site: "nyc", GPUModel: "H200", GPUs: 4, CPUs: 64, MemoryGiB: 1024},
		},
		Tenants: []model.Tenant{
			{Name: "acme"},
			{Name: "eu-lab", Jurisdictions: []string{"EU", "FR"}, PriorityClasses: []string{"normal", "low"}},
			{Name: "us-co", Jurisdictions: []string{"US"}},
			{Name: "fr-co", Jurisdictions: []string{"FR"}},
		},
		PriorityClasses: []model.PriorityClass{
			{Name: "high", Value: 100},
			{Name: "normal", Value: 50},
			{Name: "low", Value: 10, Preemptible: true},
		},
		Policy: model.DefaultPolicy(),
	}
}

// errLines renders an error from Load as one string per entry.
func errLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v (%T) is not an ErrorList", err, err)
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.Error()
	}
	return out
}

// lines joins YAML lines; it keeps test inputs readable and line numbers
// countable.
func lines(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }
