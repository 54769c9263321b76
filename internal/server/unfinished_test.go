package server

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
)

// A node's assignments name the unfinished jobs that have had a replica
// there, so that its agent keeps their ended replicas' logs: a gang
// whose replica on n1 exited 0 while the other runs on n2 stays named to
// n1, across a server restart, until it finishes; then n1's version
// changes and the list is empty (not null: null is an older server's).
func TestAssignmentsNameUnfinishedJobs(t *testing.T) {
	e := devEnv(t)
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatal(code)
	}
	id := e.submit(spec(8, 2))
	e.pass()
	j := e.job(id)
	if len(j.Replicas) != 2 || j.Replicas[0].Node == j.Replicas[1].Node {
		t.Fatalf("the gang is not on two nodes: %+v", j.Replicas)
	}
	n0, n1 := j.Replicas[0].Node, j.Replicas[1].Node
	e.report(n0, running(id, 0, 1))
	e.report(n1, running(id, 1, 1))
	e.report(n0, exited(id, 0, 1, 0)) // replica 0 ended early; the gang runs on
	unfinished := func(node string) []string {
		t.Helper()
		a := e.assignments(node)
		for _, task := range a.Tasks {
			if task.Job == id && node == n0 {
				t.Fatalf("%s still lists the ended replica: %+v", node, task)
			}
		}
		return a.UnfinishedJobs
	}
	for _, node := range []string{n0, n1} {
		if diff := cmp.Diff([]string{id}, unfinished(node)); diff != "" {
			t.Fatalf("unfinished jobs of %s (-want +got):\n%s", node, diff)
		}
	}

	e = e.restart(true)
	if diff := cmp.Diff([]string{id}, unfinished(n0)); diff != "" {
		t.Fatalf("after a restart, unfinished jobs of %s (-want +got):\n%s", n0, diff)
	}
	before := e.assignments(n0).Version
	e.report(n1, exited(id, 1, 1, 0))
	if st := e.job(id).State; st != api.StateSucceeded {
		t.Fatalf("gang %s, want succeeded", st)
	}
	if a := e.assignments(n0); a.Version == before || len(a.UnfinishedJobs) != 0 {
		t.Errorf("once the gang finished, %s has version %d (was %d) and unfinished jobs %q", n0, a.Version, before, a.UnfinishedJobs)
	}
	if w := e.raw("GET", "/v1/agent/nodes/"+n0+"/assignments", nil); !strings.Contains(w.Body.String(), `"unfinished_jobs":[]`) {
		t.Errorf("assignments without unfinished jobs: %s, want an empty list", w.Body.String())
	}
}
