package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store"
)

// A replica that holds the lease but whose server is not serving yet
// (it loads the state, which may take as long as a restart) answers as
// a standby does, but its health says what it is: the leader, starting,
// not a standby waiting for a leader; its /readyz is 503 saying so.
func TestLeaderLoadingSaysSoInItsHealth(t *testing.T) {
	r := &replica{holder: "cp-1 (instance 1)", ttl: time.Second,
		lease: store.Lease{Holder: "cp-1 (instance 1)", Address: "https://a:1 https://a:2", Epoch: 3, Valid: true}}
	h := r.handler(true)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	var body map[string]string
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusOK || body["status"] != "starting" || body["leader"] != "https://a:2" {
		t.Errorf("/healthz of a leader loading its state: %d %s; want 200, status starting, itself the leader", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get(api.StandbyHeader) == "" {
		t.Errorf("/readyz of a leader loading its state: %d %v %s; want 503 with %s", w.Code, w.Header(), w.Body, api.StandbyHeader)
	}
}
