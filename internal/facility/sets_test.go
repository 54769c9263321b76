package facility

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSets: lists that are sets refuse a repeated item on its own line,
// naming it. A tenant's priority_classes took [high, high] silently;
// the jurisdiction lists already refused repeats.
func TestSets(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{"tenant priority classes, flow", "    cohort: c1\n", "    cohort: c1\n    priority_classes: [high, low, high]\n", []string{
			`t.yaml:25: tenants[0].priority_classes[2]: priority class "high" is listed twice`}},
		{"tenant priority classes, block", "    cohort: c1\n", "    cohort: c1\n    priority_classes:\n      - high\n      - low\n      - low\n", []string{
			`t.yaml:28: tenants[0].priority_classes[2]: priority class "low" is listed twice`}},
		{"tenant priority classes, not strings", "    cohort: c1\n", "    cohort: c1\n    priority_classes: [high, [low]]\n", []string{
			`t.yaml:25: tenants[0].priority_classes[1]: must be a string, not a list`}},
		{"tenant jurisdictions", "    cohort: c1\n", "    cohort: c1\n    jurisdictions: [FR, EU, FR]\n", []string{
			`t.yaml:25: tenants[0].jurisdictions[2]: tag "FR" is listed twice`}},
		{"site jurisdictions", "country: FR", "country: FR\n    jurisdictions: [EU, FR, EU]", []string{
			`t.yaml:5: sites[0].jurisdictions[2]: tag "EU" is listed twice`}},
		{"data class jurisdictions", "cohorts:", "data_classes:\n  - {name: health, jurisdictions: [FR, FR]}\ncohorts:", []string{
			`t.yaml:21: data_classes[0].jurisdictions[1]: tag "FR" is listed twice`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(edit(t, tc.old, tc.new)))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load error = %v, want Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
	// a tenant's classes in any order, each once, load as written
	f, err := Load("t.yaml", []byte(edit(t, "    cohort: c1\n", "    cohort: c1\n    priority_classes: [low, high]\n")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"low", "high"}, f.Tenants[0].PriorityClasses); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
}
