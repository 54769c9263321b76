package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// TestDescribeAllEvents: describe read one page of the job's events (the
// server's default 1,000, oldest first), so a long-lived deployment's
// latest events, the ones that say what is happening now, were missing
// from both the table and -o json, without a word. describe reads every
// page.
func TestDescribeAllEvents(t *testing.T) {
	const total, page = 2500, 1000
	start := time.Now().Add(-time.Hour)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Job{ID: "d", Kind: "deployment", State: api.StateRunning, Spec: json.RawMessage(`{}`)})
	})
	mux.HandleFunc("GET /v1/jobs/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		var l api.EventList
		for s := after + 1; s <= total && len(l.Events) < page; s++ {
			l.Events = append(l.Events, api.Event{Seq: int64(s), Time: start.Add(time.Duration(s) * time.Second), Job: "d",
				Type: api.EventReplica, Message: fmt.Sprintf("replica event %d", s)})
		}
		reply(w, 200, l)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, out, errs := carnot("describe", "d", "--server", srv.URL, "-o", "json")
	var got struct {
		Events []api.Event `json:"events"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("describe -o json: exit %d, stderr %q", code, errs)
	}
	if len(got.Events) != total || got.Events[total-1].Seq != total {
		t.Errorf("describe -o json: %d events, want all %d", len(got.Events), total)
	}
	code, out, _ = carnot("describe", "d", "--server", srv.URL)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("replica event %d\n", total)) {
		t.Errorf("describe: exit %d; the latest event is missing from the table", code)
	}
}
