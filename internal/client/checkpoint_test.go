package client

import (
	"context"
	"net/http"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// Checkpoint returns the answer's status with the job, which alone says
// what the server did (200: recorded; 202: acknowledged a stop notice);
// an answer without a body still gives the job's ID. (Against a real
// server: internal/e2e, TestCheckpointLineIsTheServers.)
func TestCheckpointReturnsTheStatus(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusAccepted, http.StatusNoContent} {
		c, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/v1/jobs/a/checkpoint" {
				t.Errorf("%s %s; want POST /v1/jobs/a/checkpoint", r.Method, r.URL.Path)
			}
			if status == http.StatusNoContent {
				w.WriteHeader(status)
				return
			}
			writeJSON(w, status, map[string]any{"id": "a", "state": "running"})
		})
		j, got, err := c.Checkpoint(context.Background(), "a", api.CheckpointAck{})
		if err != nil || got != status || j.ID != "a" {
			t.Errorf("answered %d: job %+v, status %d, %v; want job a, status %d", status, j, got, err, status)
		}
	}
}
