package server

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/store/sqlite"
)

// TestRestartReadsSpecsOfEarlierVersions: job files now refuse a GPU
// model or jurisdiction tag listed twice, but a job an earlier version
// accepted with one is still in its store. Read with the submission's
// rules, it stopped the server from starting ("server: job … in the
// store: … is listed twice"); it is read with each item once.
func TestRestartReadsSpecsOfEarlierVersions(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(1, 1, "gpu_model", []string{"H100", "H200"}, "jurisdictions", []string{"FR"}))
	doc := e.job(id)
	old := bytes.Replace(doc.Spec, []byte(`["H100","H200"]`), []byte(`["H100","H200","H100"]`), 1)
	old = bytes.Replace(old, []byte(`["FR"]`), []byte(`["FR","FR"]`), 1)
	if bytes.Equal(old, doc.Spec) {
		t.Fatalf("spec %s has no lists to repeat items in", doc.Spec)
	}
	doc.Spec = old

	// a store as the earlier version left it, holding that job pending
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "carnot.db"))
	if err != nil {
		t.Fatal(err)
	}
	ev := api.Event{Time: doc.SubmitTime, Job: id, Tenant: doc.Tenant, Type: api.EventSubmitted, Message: "submitted"}
	if _, _, err := db.CreateJob(context.Background(), &doc, "", &ev); err != nil {
		t.Fatal(err)
	}
	db.Close()

	e2 := openEnv(t, dir, DevFacility("local", "FR"), true, e.clock)
	js := e2.s.jobs[id]
	if js == nil {
		t.Fatalf("job %s not read back", id)
	}
	if !slices.Equal(js.job.GPUModels, []string{"H100", "H200"}) || !slices.Equal(js.job.Jurisdictions, []string{"FR"}) {
		t.Errorf("read back gpu_model %v, jurisdictions %v; want each item once", js.job.GPUModels, js.job.Jurisdictions)
	}
}
