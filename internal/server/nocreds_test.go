package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A request without credentials is told how the CLI sends them.
func TestNoCredentialsNamesTheCLIsToken(t *testing.T) {
	e := devEnv(t)
	w := httptest.NewRecorder()
	e.s.TenantHandler().ServeHTTP(w, httptest.NewRequest("GET", "/v1/jobs", nil))
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "--token or CARNOT_TOKEN") {
		t.Errorf("no credentials: %d %s; want 401 naming --token and CARNOT_TOKEN", w.Code, w.Body)
	}
}
