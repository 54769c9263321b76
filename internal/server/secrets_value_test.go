package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A secret's value is required (its OpenAPI schema, SecretValue, says
// so): a body without one, or with a null one, is refused naming value
// and stores nothing, instead of setting the secret to "" as if asked
// (`{"tenant":"a"}`, a script's "val" caught by its own typo check). An
// empty value given as such is still a value.
func TestPutSecretWithoutAValueIsRefused(t *testing.T) {
	e := secEnv(t)
	for _, body := range []string{`{"tenant":"a"}`, `{"tenant":"a","value":null}`, `{}`} {
		w := e.raw("PUT", "/v1/secrets/s1", []byte(body))
		if w.Code != http.StatusBadRequest || !jsonHasField(t, w.Body.Bytes(), "value") {
			t.Errorf("PUT %s: %d %s; want 400 naming value", body, w.Code, w.Body)
		}
	}
	recs, err := e.s.store.Records(t.Context(), recSecret)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 0 {
		t.Errorf("stored secrets %v; want none", recs)
	}
	if code := e.do("PUT", "/v1/secrets/s1", map[string]any{"tenant": "a", "value": ""}, nil); code != http.StatusOK {
		t.Errorf("PUT an empty value: %d; want 200", code)
	}
}

// jsonHasField reports whether problem document b names field.
func jsonHasField(t *testing.T, b []byte, field string) bool {
	t.Helper()
	var p api.Problem
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("problem %s: %v", b, err)
	}
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}
