package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
)

// assignUnfinished publishes a new version of the assignments that names
// the jobs that are not finished.
func (s *fakeServer) assignUnfinished(unfinished []string, tasks ...api.Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.as = api.Assignments{Version: s.as.Version + 1, Tasks: tasks, UnfinishedJobs: unfinished}
	close(s.changed)
	s.changed = make(chan struct{})
}

// A finished task of a job the server says is not finished (a gang whose
// replica here exited early while the others run on elsewhere) keeps
// its data past the count and age limits; once the job finishes the
// limits take it. (Assignments without the list, an older server's, are
// those of the other retention tests.)
func TestUnfinishedJobDataKept(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv, retain(Retention{MaxTasks: 1, MaxAge: time.Nanosecond}))
	srv.assign(sh("j-gang", 0, `echo rank 0 done; echo scratch > file`, nil), sh("j-other", 0, `echo other`, nil))
	srv.waitStatus(t, "j-gang", 0, 1, ended)
	srv.waitStatus(t, "j-other", 0, 1, ended)
	srv.assignUnfinished([]string{"j-gang"}) // neither listed; the gang runs on elsewhere
	eventually(t, 5*time.Second, func() bool { return len(taskDataOf(t, a, "j-other")) == 0 },
		"the finished job's data to go: %q", taskDataOf(t, a, "j-other"))
	collections(t, a, 5)
	if got := taskDataOf(t, a, "j-gang"); len(got) != 3 {
		t.Fatalf("data of an unfinished job's finished task: %q, want its two logs and work directory", got)
	}
	if code, out := getLog(t, a, "job=j-gang&replica=0&attempt=1"); code != 200 || out != "rank 0 done\n" {
		t.Errorf("log of an unfinished job's finished task: %d %q", code, out)
	}
	srv.assignUnfinished([]string{}) // the gang finished
	eventually(t, 5*time.Second, func() bool { return len(taskDataOf(t, a, "j-gang")) == 0 },
		"the finished job's data to go: %q", taskDataOf(t, a, "j-gang"))
}

// syncBuffer is a log's destination that tests read while it is written.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The disk limit takes an unfinished job's finished tasks too, as a last
// resort: after every other, oldest first, and the agent's log says so.
func TestDiskThresholdTakesUnfinishedJobsLast(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	jobs := []string{"j-u1", "j-f1", "j-u2", "j-f2"} // oldest first
	for i, job := range jobs {
		p := filepath.Join(dir, "logs", job, "1", "0.stdout")
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		touch(t, p)
		at := now.Add(time.Duration(i-4) * time.Minute)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	a, err := New(Config{Name: "n1", DataDir: dir, CPUs: 1, MemoryGiB: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Retention: Retention{MaxTasks: -1, MaxAge: -1, DiskPercent: 80}}, newFakeServer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.ln.Close() })
	a.apply(api.Assignments{Version: 1, UnfinishedJobs: []string{"j-u1", "j-u2"}})
	calls := 0
	a.diskUsed = func() (float64, error) { // full until three are deleted
		calls++
		return map[bool]float64{true: 95, false: 50}[calls <= 3], nil
	}
	if err := a.collect(now); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, job := range jobs {
		if _, err := os.Stat(filepath.Join(dir, "logs", job)); err == nil {
			left = append(left, job)
		}
	}
	if diff := cmp.Diff([]string{"j-u2"}, left); diff != "" {
		t.Errorf("left: the finished jobs' data goes first, then the oldest unfinished job's (-want +got):\n%s", diff)
	}
	if out := logs.String(); strings.Count(out, "of a finished task whose job is not finished") != 1 || !strings.Contains(out, "job=j-u1") {
		t.Errorf("the agent's log does not say, once, that it deleted j-u1's data for the disk:\n%s", out)
	}
}
