package cli

import (
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/scenario"
)

// The table carnot plan prints gives each scenario's highest peak / hall
// cap beside its peak / envelope ("-" where no hall has a cap), and
// counts a hall above its cap as a violation.
func TestPlanTableHallCap(t *testing.T) {
	p := scenario.Plan{Scenarios: []scenario.ScenarioSummary{
		{Name: "open", Metrics: scenario.Metrics{Jobs: 1, PeakOverEnvelope: 0.85}},
		{Name: "hall-80kW", Metrics: scenario.Metrics{Jobs: 1, PeakOverEnvelope: 0.66, PeakOverHallCap: 1.02, HallCapViolations: 1}},
	}}
	var b strings.Builder
	printPlan(&b, p)
	lines := strings.Split(b.String(), "\n")
	if !strings.Contains(lines[0], "PEAK/ENV  PEAK/HALL CAP  VIOL") {
		t.Fatalf("header %q has no PEAK/HALL CAP column", lines[0])
	}
	for i, want := range map[int][]string{1: {"85%", " -  ", " 0 "}, 2: {"66%", "102%", " 1 "}} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("row %q lacks %q", lines[i], w)
			}
		}
	}
}

// A rack above its cap counts in VIOL as a hall above its cap does.
func TestPlanTableRackViolation(t *testing.T) {
	p := scenario.Plan{Scenarios: []scenario.ScenarioSummary{
		{Name: "rack-10kW", Metrics: scenario.Metrics{Jobs: 1, PeakOverEnvelope: 0.5, PeakOverRackCap: 1.1, RackCapViolations: 2}},
	}}
	var b strings.Builder
	printPlan(&b, p)
	if row := strings.Split(b.String(), "\n")[1]; !strings.Contains(row, " 2 ") {
		t.Errorf("row %q does not count the 2 racks above their cap in VIOL", row)
	}
}
