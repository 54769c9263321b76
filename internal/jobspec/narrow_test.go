package jobspec

import (
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/model"
)

// The loader narrows a job's jurisdictions to the tags whose sites its
// tenant may all use. A job asking for EU or FR of a tenant allowed FR
// or DE may run at par (EU, FR) and ber (EU, DE); narrowed to FR (EU
// also names ams, which the tenant may not use), it lost ber, which both
// allow: stored so, it could never use it, and a gang that needs par and
// ber together was refused though the core starts it as written. A
// narrowing that would lose a site is not made: the job keeps its list.
func TestNarrowingLosesNoSite(t *testing.T) {
	fac := coreFacility() // par (EU, FR) 2 H100 nodes of 8, ber (EU, DE) 1
	fac.Sites = append(fac.Sites, model.Site{ID: "ams", Country: "NL", Jurisdictions: []string{"EU", "NL"}})
	fac.Tenants = append(fac.Tenants, model.Tenant{Name: "fr-de", Jurisdictions: []string{"FR", "DE"}})
	for _, tc := range []struct {
		name, job string
		want      []string
	}{
		{"would lose ber", `{"id": "j", "tenant": "fr-de", "gpus": 8, "replicas": 3, "gpu_model": "H100", "topology": "any", "jurisdictions": ["EU", "FR"]}`,
			[]string{"EU", "FR"}},
		{"loses none", `{"id": "j", "tenant": "fr-de", "gpus": 8, "replicas": 2, "gpu_model": "H100", "topology": "any", "jurisdictions": ["FR", "US"]}`,
			[]string{"FR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jobs, err := Load("n.jsonl", []byte(tc.job+"\n"), fac)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := jobs[0].Jurisdictions; !slices.Equal(got, tc.want) {
				t.Errorf("jurisdictions %q, want %q", got, tc.want)
			}
			if ok, why := coreStarts(fac, jobs[0]); !ok {
				t.Errorf("the core does not start the job as stored: %s", why)
			}
		})
	}
}
