package facility

import (
	"os"
	"strings"
	"testing"
)

// docSection returns the text of docs/facility.md under the heading
// "## title", up to the next "## " heading.
func docSection(t *testing.T, doc, title string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n## "+title+"\n")
	if !ok {
		t.Fatalf("docs/facility.md has no section %q", title)
	}
	section, _, _ := strings.Cut(rest, "\n## ")
	return section
}

// TestDocTablesListEveryField keeps the field tables of docs/facility.md
// in step with what the loader accepts: every top-level key, GPU model
// field and policy key the loader reads has a row in its section's table.
func TestDocTablesListEveryField(t *testing.T) {
	b, err := os.ReadFile("../../docs/facility.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, tc := range []struct {
		section string
		fields  []string
	}{
		{"Top level", topFields},
		{"gpu_models and the built-in catalog", gpuModelFields},
		{"policy", policyFields},
	} {
		section := docSection(t, doc, tc.section)
		for _, f := range tc.fields {
			if !strings.Contains(section, "\n| `"+f+"` |") {
				t.Errorf("docs/facility.md, section %q: no row for field %q", tc.section, f)
			}
		}
	}
}
