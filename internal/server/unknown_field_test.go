package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
)

// An unknown field of a submitted job is named in the problem's field,
// as every other route names one (`{"field":"foo","message":"unknown
// field"}` on POST /v1/tokens) and as the API's FieldError says ("the
// field's path"): a client that marks the wrong fields of a form got an
// empty field for a key of the job itself.
func TestSubmitNamesAnUnknownField(t *testing.T) {
	e := devEnv(t)
	for _, tc := range []struct {
		path string
		body string
		want []api.FieldError
	}{
		{"/v1/jobs", `{"tenant":"default","gpus":1,"gpu":3,"command":["x"]}`,
			[]api.FieldError{{Field: "gpu", Message: `unknown field (did you mean "gpus"?)`}}},
		{"/v1/deployments", `{"tenant":"default","gpus":1,"bogus":1,"command":["x"]}`,
			[]api.FieldError{{Field: "bogus", Message: "unknown field (known fields: checkpoint_grace, …)"}}},
		{"/v1/jobs", `{"tenant":"default","gpus":1,"command":["x"],"topology":{"level":"node","lvl":"rack"}}`,
			[]api.FieldError{{Field: "topology.lvl", Message: "unknown field (topology has level and required)"}}},
	} {
		w := e.raw("POST", tc.path, []byte(tc.body))
		var p api.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != 400 {
			t.Fatalf("POST %s %s: %d %s", tc.path, tc.body, w.Code, w.Body)
		}
		for i := range p.Errors {
			// the list of known fields grows with the spec
			if m := &p.Errors[i].Message; strings.HasPrefix(*m, "unknown field (known fields: ") {
				*m = "unknown field (known fields: checkpoint_grace, …)"
			}
		}
		if d := cmp.Diff(tc.want, p.Errors); d != "" {
			t.Errorf("POST %s %s: errors (-want +got):\n%s", tc.path, tc.body, d)
		}
	}
}
