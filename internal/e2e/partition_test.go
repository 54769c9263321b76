package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/nettest"
)

// With carnot server --stop-after-disconnect, a node cut off from the
// server by a partition (its agent alive, its task running) stops its
// task on its own, and the job's next attempt starts on another node only
// after that task has ended: the replica never runs twice. (Without the
// setting, TestPartitionedAgentKillsItsOrphan shows both running.)
func TestPartitionedNodeStopsItsWorkBeforeTheNextAttempt(t *testing.T) {
	f := newFaultClusterOf(t, []string{"--stop-after-disconnect", "6s"}, 0)
	proxy := nettest.Start(t, f.srv.admin) // cut below: a partition both sides see
	f.startAgentVia("node-1", proxy.Addr())
	f.wait("node-1 ready", 20*time.Second, func() bool { return f.condition("node-1") == api.NodeReady })
	script := `trap 'date +%s%N > ` + f.work + `/part-$CARNOT_ATTEMPT.end; exit 143' TERM; ` +
		`date +%s%N > ` + f.work + `/part-$CARNOT_ATTEMPT.start; echo $$ > ` + f.work + `/part-$CARNOT_ATTEMPT.pid; ` +
		`while :; do sleep 0.1; done`
	spec := fmt.Sprintf(`{"id":"part","tenant":"default","gpus":2,"restart":"on-failure","max_retries":2,"command":["sh","-c",%q]}`, script)
	if _, err := f.cl.SubmitJob(context.Background(), []byte(spec), ""); err != nil {
		t.Fatal(err)
	}
	f.wait("the job running on node-1", 20*time.Second, func() bool {
		j := f.job("part")
		return j.State == api.StateRunning && j.Replicas[0].Node == "node-1" && j.Replicas[0].State == api.ReplicaRunning
	})
	first := f.pid("part-1.pid")
	f.startAgent("node-2")
	f.wait("node-2 ready", 20*time.Second, func() bool { return f.condition("node-2") == api.NodeReady })

	cut := time.Now()
	proxy.Cut()
	f.wait("the second attempt running on node-2", 60*time.Second, func() bool {
		j := f.job("part")
		return j.State == api.StateRunning && j.Attempt == 2 && j.Replicas[0].Node == "node-2"
	})
	f.wait("the second attempt's process", 10*time.Second, func() bool {
		// the shell creates the file before date writes to it
		fi, err := os.Stat(filepath.Join(f.work, "part-2.start"))
		return err == nil && fi.Size() > 0
	})
	waitGone(t, "the cut-off node's task", first, 5*time.Second)
	end1, start2 := stamp(t, f.work, "part-1.end"), stamp(t, f.work, "part-2.start")
	t.Logf("partition at 0; first attempt stopped at %s, second started at %s",
		end1.Sub(cut).Round(time.Millisecond), start2.Sub(cut).Round(time.Millisecond))
	if !end1.Before(start2) {
		t.Fatalf("the second attempt started %s before the first ended: the replica ran twice", end1.Sub(start2))
	}
	if end1.Sub(cut) < 5*time.Second {
		t.Errorf("the first attempt was stopped %s after the partition, before the 6 s", end1.Sub(cut))
	}
}

// stamp reads a time a task wrote with date +%s%N.
func stamp(t *testing.T, dir, name string) time.Time {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("no %s: %v", name, err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return time.Unix(0, ns)
}
