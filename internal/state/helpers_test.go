package state

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
)

var (
	smallFacility = filepath.Join("..", "..", "examples", "small.yaml")
	busyJobs      = filepath.Join("..", "..", "examples", "jobs-small-busy.yaml")
	exampleState  = filepath.Join("..", "..", "examples", "state-small.yaml")
)

// fixture loads the example facility and busy workload, plus extra
// jobs given as YAML (a deployment, a CPU-only job) for the tests.
func fixture(t testing.TB) (*model.Facility, []*model.Job) {
	t.Helper()
	fac, err := facility.LoadFile(smallFacility)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := jobspec.LoadFile(busyJobs, fac)
	if err != nil {
		t.Fatal(err)
	}
	extra, err := jobspec.Load("extra.yaml", []byte(lines(
		"- {id: chat, kind: deployment, tenant: lab-a, priority_class: high, replicas: 3, min_replicas: 1, gpus: 1, cpus: 8}",
		"- {id: prep, tenant: lab-b, gpus: 0, cpus: 100}",
	)), fac)
	if err != nil {
		t.Fatal(err)
	}
	return fac, append(jobs, extra...)
}

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func ids(jobs []*model.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}
