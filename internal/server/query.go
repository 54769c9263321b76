package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// queryParams maps each operation of openapi.json to the query
// parameters it documents, sorted: the document is the one list, so the
// server and its description cannot drift apart.
var queryParams = sync.OnceValue(func() map[string][]string {
	names, _ := queryDoc()
	return names
})

// listParams maps each operation of openapi.json to its query
// parameters of type array, the ones that may be given more than once.
var listParams = sync.OnceValue(func() map[string][]string {
	_, lists := queryDoc()
	return lists
})

// queryDoc reads the query parameters of every operation of
// openapi.json, and of those the ones of type array.
func queryDoc() (names, lists map[string][]string) {
	type param struct {
		Ref    string `json:"$ref"`
		Name   string `json:"name"`
		In     string `json:"in"`
		Schema struct {
			Type string `json:"type"`
		} `json:"schema"`
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
	names, lists = map[string][]string{}, map[string][]string{}
	for _, ops := range doc.Paths {
		for _, op := range ops {
			takes := []string{}
			for _, p := range op.Parameters {
				if p.Ref != "" {
					name := strings.TrimPrefix(p.Ref, "#/components/parameters/")
					var ok bool
					if p, ok = doc.Components.Parameters[name]; !ok {
						panic(fmt.Sprintf("server: openapi.json: %s: no parameter %s", op.OperationID, name))
					}
				}
				if p.In == "query" {
					takes = append(takes, p.Name)
					if p.Schema.Type == "array" {
						lists[op.OperationID] = append(lists[op.OperationID], p.Name)
					}
				}
			}
			slices.Sort(takes)
			names[op.OperationID] = takes
		}
	}
	return names, lists
}

// knownQuery refuses a request to op with a query parameter op does not
// document: a misspelt filter ("/v1/events?since=…") would otherwise be
// ignored and the answer look filtered. It refuses too a parameter of
// one value given more than once ("?limit=1&limit=500"), which would
// otherwise take one of them without saying which; one of type array
// (state) takes them all.
func knownQuery(op string, h http.HandlerFunc) http.HandlerFunc {
	takes, ok := queryParams()[op]
	if !ok {
		panic(fmt.Sprintf("server: openapi.json documents no operation %s", op))
	}
	lists := listParams()[op]
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
		var twice []string
		for name, vs := range r.URL.Query() {
			if len(vs) > 1 && !slices.Contains(lists, name) {
				twice = append(twice, name)
			}
		}
		if len(twice) > 0 {
			slices.Sort(twice)
			p := &api.Problem{Status: http.StatusBadRequest,
				Detail: fmt.Sprintf("query parameter %q given %d times: it takes one value", twice[0], len(r.URL.Query()[twice[0]]))}
			for _, name := range twice {
				p.Errors = append(p.Errors, api.FieldError{Field: name,
					Message: fmt.Sprintf("give it once: it takes one value (got %s)", strings.Join(quoteAll(r.URL.Query()[name]), ", "))})
			}
			writeProblem(w, p)
			return
		}
		h(w, r)
	}
}

// quoteAll quotes each of vs, the first 5.
func quoteAll(vs []string) []string {
	out := make([]string, 0, min(len(vs), 6))
	for i, v := range vs {
		if i == 5 {
			out = append(out, fmt.Sprintf("… (%d in all)", len(vs)))
			break
		}
		out = append(out, fmt.Sprintf("%q", yamlin.Truncate(v, 40)))
	}
	return out
}
