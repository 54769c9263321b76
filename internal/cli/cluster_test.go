package cli

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// carnot tenants and carnot sites as tables: what a tenant borrows
// beyond its nominal quota as the server says (a model it holds without
// a quota of it, a tenant of a cohort with no quota of its own), nothing
// when the server says none (the policy's quotas off), a tenant without
// quota, a site without a grid series.
func TestTenantsAndSitesTables(t *testing.T) {
	price, carbon := 61.234, 48.6
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/tenants", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.TenantList{Tenants: []api.Tenant{
			{Name: "lab-a", Cohort: "research", Quota: map[string]int{"H100": 8, "A100": 16},
				GPUsUsed: map[string]int{"H100": 12, "L40S": 2}, GPUsBorrowed: map[string]int{"H100": 4, "L40S": 2},
				Running: 3, Pending: 1, Usage: api.Usage{GPUSeconds: 36000}},
			{Name: "lab-b", Cohort: "research", Quota: map[string]int{"H100": 8}, Pending: 4},
			{Name: "guest", Cohort: "research", GPUsUsed: map[string]int{"H100": 2}, GPUsBorrowed: map[string]int{"H100": 2}, Running: 1},
			{Name: "unbound", Quota: map[string]int{"H100": 1}, GPUsUsed: map[string]int{"H100": 3}, Running: 1},
			{Name: "free", GPUsUsed: map[string]int{"H100": 1}, Running: 1, Usage: api.Usage{GPUSeconds: 1800}},
		}})
	})
	mux.HandleFunc("GET /v1/sites", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.SiteList{Sites: []api.Site{
			{ID: "par", Country: "FR", Jurisdictions: []string{"EU", "FR"}, PowerEnvelopeKW: 44000, PUE: 1.2, ITPowerKW: 30123.45,
				Nodes: 1725, GPUs: 13800, GPUsUsed: 12000, PriceEURMWh: &price, CarbonGkWh: &carbon},
			{ID: "fra", Country: "DE", Jurisdictions: []string{"EU", "DE"}, PowerEnvelopeKW: 121.6, PUE: 1.35},
		}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	code, out, errs := carnot("tenants", "--server", srv.URL)
	want := "TENANT   COHORT    GPUS USED/NOMINAL               BORROWED        RUNNING  PENDING  GPU-H\n" +
		"lab-a    research  A100 0/16, H100 12/8, L40S 2/0  H100 4, L40S 2  3        1        10.0\n" +
		"lab-b    research  H100 0/8                        -               0        4        0.0\n" +
		"guest    research  H100 2/0                        H100 2          1        0        0.0\n" +
		"unbound  -         H100 3/1                        -               1        0        0.0\n" +
		"free     -         H100 1                          -               1        0        0.5\n"
	if code != 0 || out != want {
		t.Errorf("tenants: exit %d, stderr %q\n%s\nwant\n%s", code, errs, out, want)
	}
	code, out, errs = carnot("sites", "--server", srv.URL)
	want = "SITE  COUNTRY  JURISDICTIONS  NODES  GPUS USED    IT KW    ENVELOPE KW  OF ENVELOPE  PUE   EUR/MWH  GCO2E/KWH\n" +
		"par   FR       EU,FR          1725   12000/13800  30123.5  44000        68.5%        1.2   61.23    49\n" +
		"fra   DE       EU,DE          0      0/0          0.0      121.6        0.0%         1.35  -        -\n"
	if code != 0 || out != want {
		t.Errorf("sites: exit %d, stderr %q\n%s\nwant\n%s", code, errs, out, want)
	}
}
