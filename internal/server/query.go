package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/carnot-dc/carnot/internal/api"
)

// queryParams maps each operation of openapi.json to the query
// parameters it documents, sorted: the document is the one list, so the
// server and its description cannot drift apart.
var queryParams = sync.OnceValue(func() map[string][]string {
	type param struct {
		Ref  string `json:"$ref"`
		Name string `json:"name"`
		In   string `json:"in"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string  `json:"operationId"`
			Parameters  []param `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]param `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		panic(fmt.Sprintf("server: openapi.json: %v", err))
	}
	out := map[string][]string{}
	for _, ops := range doc.Paths {
		for _, op := range ops {
			names := []string{}
			for _, p := range op.Parameters {
				if p.Ref != "" {
					name := strings.TrimPrefix(p.Ref, "#/components/parameters/")
					var ok bool
					if p, ok = doc.Components.Parameters[name]; !ok {
						panic(fmt.Sprintf("server: openapi.json: %s: no parameter %s", op.OperationID, name))
					}
				}
				if p.In == "query" {
					names = append(names, p.Name)
				}
			}
			slices.Sort(names)
			out[op.OperationID] = names
		}
	}
	return out
})

// knownQuery refuses a request to op with a query parameter op does not
// document: a misspelt filter ("/v1/events?since=…") would otherwise be
// ignored and the answer look filtered.
func knownQuery(op string, h http.HandlerFunc) http.HandlerFunc {
	takes, ok := queryParams()[op]
	if !ok {
		panic(fmt.Sprintf("server: openapi.json documents no operation %s", op))
	}
	say := "takes no query parameters"
	if len(takes) > 0 {
		say = "takes " + strings.Join(takes, ", ")
	}
	return func(w http.ResponseWriter, r *http.Request) {
		var unknown []string
		for name := range r.URL.Query() {
			if !slices.Contains(takes, name) {
				unknown = append(unknown, name)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			// A pattern with a method ("GET /v1/jobs") names the route
			// whole; one without takes the request's.
			route := r.Pattern
			if !strings.Contains(route, " ") {
				route = r.Method + " " + route
			}
			p := &api.Problem{Status: http.StatusBadRequest,
				Detail: fmt.Sprintf("unknown query parameter %q: %s %s", unknown[0], route, say)}
			for _, name := range unknown {
				p.Errors = append(p.Errors, api.FieldError{Field: name, Message: "unknown query parameter; the route " + say})
			}
			writeProblem(w, p)
			return
		}
		h(w, r)
	}
}
