package client

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// Every query parameter the client sends is one openapi.json documents
// for the route: the server refuses any other.
func TestQueriesAreDocumented(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Ref      string `json:"$ref"`
				Name, In string
			} `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]struct{ Name, In string } `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for path, ops := range doc.Paths {
		for method, op := range ops {
			var takes []string
			for _, p := range op.Parameters {
				if p.Ref != "" {
					c := doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
					p.Name, p.In = c.Name, c.In
				}
				if p.In == "query" {
					takes = append(takes, p.Name)
				}
			}
			mux.HandleFunc(strings.ToUpper(method)+" "+path, func(w http.ResponseWriter, r *http.Request) {
				for name := range r.URL.Query() {
					if !slices.Contains(takes, name) {
						t.Errorf("%s: query parameter %q is not documented (%v)", r.Pattern, name, takes)
					}
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte("{}"))
			})
		}
	}
	c, _ := serve(t, mux.ServeHTTP)
	ctx := context.Background()
	all := ListOptions{Tenant: "t", States: []string{"running"}, PriorityClass: "p", Kind: "job", After: "j-1", Limit: 5}
	c.ListJobs(ctx, all)
	c.ListDeployments(ctx, all)
	if ls, err := c.Logs(ctx, "j-1", LogOptions{Replica: 1, Stream: "stderr", Follow: true, Attempt: 2}); err == nil {
		ls.Close()
	}
	c.Events(ctx, "j-1", 3)
	c.AllEvents(ctx, 3)
	c.ListSecrets(ctx, "t")
	c.DeleteSecret(ctx, "t", "s")
	c.AuditEntries(ctx, "t", "j-1", 5)
	c.AuditConsistency(ctx, 1, 2)
	c.Assignments(ctx, "n1", 3, 0)
	c.Usage(ctx)
}
