package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// The OpenAPI document's JobSpec, the body of POST /v1/jobs, says what a
// submission must and must not carry as the server decides it: a field
// the server refuses a job without is required, one it takes a job
// without is not, and one it refuses in a submission is readOnly
// (OpenAPI's "sent in answers, not in requests"). Before, the schema
// required tenant, which a token may leave out, did not require
// command, without which a job is refused, and described submit_time
// as set by the server, which refuses a body that gives it.
func TestJobSpecSchemaSaysWhatASubmissionNeeds(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	spec := doc.Components.Schemas["JobSpec"]
	e := devEnv(t)
	base := map[string]any{"tenant": "default", "gpus": 1, "command": []string{"x"}}
	for _, field := range []string{"tenant", "gpus", "command"} {
		body := map[string]any{}
		for k, v := range base {
			if k != field {
				body[k] = v
			}
		}
		code := e.do("POST", "/v1/jobs", body, nil)
		if required := slices.Contains(spec.Required, field); required != (code == http.StatusBadRequest) {
			t.Errorf("a submission without %s: %d; the JobSpec schema has it required: %v", field, code, required)
		}
	}
	body := map[string]any{"submit_time": "2026-03-02T10:00:00Z"}
	for k, v := range base {
		body[k] = v
	}
	var p struct {
		ReadOnly bool `json:"readOnly"`
	}
	if err := json.Unmarshal(spec.Properties["submit_time"], &p); err != nil {
		t.Fatal(err)
	}
	if code := e.do("POST", "/v1/jobs", body, nil); code == http.StatusBadRequest && !p.ReadOnly {
		t.Errorf("a submission with submit_time: %d; the JobSpec schema does not mark it readOnly", code)
	}
}
