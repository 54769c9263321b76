package agent

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
)

// retain sets the agent's retention (collections every 20 ms), without
// the disk threshold: the tests' disks may be full.
func retain(r Retention) func(*Config) {
	return func(c *Config) {
		r.Interval, r.DiskPercent = 20*time.Millisecond, -1
		c.Retention = r
	}
}

// taskDataOf lists what is left of job's tasks in the data directory.
func taskDataOf(t *testing.T, a *Agent, job string) []string {
	t.Helper()
	var out []string
	for _, area := range []string{"logs", "work"} {
		m, err := filepath.Glob(filepath.Join(a.cfg.DataDir, area, job, "*", "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(a.cfg.DataDir, p)
			out = append(out, rel)
		}
	}
	return out
}

// collections waits until the agent has checked its data n more times.
func collections(t *testing.T, a *Agent, n int) {
	t.Helper()
	time.Sleep(time.Duration(n) * a.cfg.Retention.Interval)
}

// A finished task's logs and work directory are kept while the server
// lists it, then deleted once its retention is over.
func TestFinishedTaskDataGoesAfterItsRetention(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv, retain(Retention{MaxTasks: -1, MaxAge: 200 * time.Millisecond}))
	srv.assign(sh("j-old", 0, `echo output; echo scratch > file`, nil))
	srv.waitStatus(t, "j-old", 0, 1, ended)
	time.Sleep(500 * time.Millisecond) // past MaxAge, but listed
	if got := taskDataOf(t, a, "j-old"); len(got) != 3 {
		t.Fatalf("data of a finished task the server still lists: %q, want its two logs and work directory", got)
	}
	if code, out := getLog(t, a, "job=j-old&replica=0&attempt=1"); code != 200 || out != "output\n" {
		t.Errorf("log of a listed finished task: %d %q", code, out)
	}
	srv.assign()
	eventually(t, 5*time.Second, func() bool { return len(taskDataOf(t, a, "j-old")) == 0 },
		"the finished task's data to go: %q", taskDataOf(t, a, "j-old"))
	eventually(t, time.Second, func() bool {
		_, errLogs := os.Stat(filepath.Join(a.cfg.DataDir, "logs", "j-old"))
		_, errWork := os.Stat(filepath.Join(a.cfg.DataDir, "work", "j-old"))
		return errLogs != nil && errWork != nil
	}, "the job's emptied directories to go")
	// saying why, once: the server names the node before it
	if code, out := getLog(t, a, "job=j-old&replica=0&attempt=1"); code != http.StatusNotFound ||
		!strings.Contains(out, "--gc-max-tasks, --gc-max-age or --gc-disk-percent") || strings.Contains(out, "on node") {
		t.Errorf("log of a deleted task: %d %q, want 404 saying the node's retention may have deleted it", code, out)
	}
}

// A running task's data is kept whatever its age, while a finished one
// of the same age goes.
func TestRunningTaskDataKept(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv, retain(Retention{MaxTasks: 1, MaxAge: time.Nanosecond}))
	run := sh("j-run", 0, `echo started; echo scratch > file; exec sleep 30`, nil)
	srv.assign(run, sh("j-done", 0, `echo done`, nil))
	srv.waitStatus(t, "j-run", 0, 1, running)
	srv.waitStatus(t, "j-done", 0, 1, ended)
	srv.assign(run)
	eventually(t, 5*time.Second, func() bool { return len(taskDataOf(t, a, "j-done")) == 0 },
		"the finished task's data to go: %q", taskDataOf(t, a, "j-done"))
	collections(t, a, 5)
	if got := taskDataOf(t, a, "j-run"); len(got) != 3 {
		t.Errorf("data of the running task: %q, want its two logs and work directory", got)
	}
	if b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, "work", "j-run", "1", "0", "file")); err != nil || string(b) != "scratch\n" {
		t.Errorf("the running task's work file: %q, %v", b, err)
	}
	if code, out := getLog(t, a, "job=j-run&replica=0&attempt=1"); code != 200 || out != "started\n" {
		t.Errorf("log of the running task: %d %q", code, out)
	}
}

// Beyond MaxTasks, the oldest finished tasks' data goes; the newest is
// kept however old.
func TestCountLimitKeepsTheNewest(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv, retain(Retention{MaxTasks: 2, MaxAge: -1}))
	for i := 1; i <= 4; i++ {
		job := fmt.Sprintf("j-c%d", i)
		srv.assign(sh(job, 0, `echo `+job, nil))
		srv.waitStatus(t, job, 0, 1, ended)
	}
	srv.assign() // none listed: the four are finished
	eventually(t, 5*time.Second, func() bool {
		return len(taskDataOf(t, a, "j-c1")) == 0 && len(taskDataOf(t, a, "j-c2")) == 0
	}, "the two oldest tasks' data to go: %q %q", taskDataOf(t, a, "j-c1"), taskDataOf(t, a, "j-c2"))
	collections(t, a, 5)
	for _, job := range []string{"j-c3", "j-c4"} {
		if got := taskDataOf(t, a, job); len(got) != 3 {
			t.Errorf("%s, among the newest two: %q, want its logs and work directory", job, got)
		}
		if code, out := getLog(t, a, "job="+job+"&replica=0&attempt=1"); code != 200 || out != job+"\n" {
			t.Errorf("log of %s: %d %q", job, code, out)
		}
	}
}

// A finished task whose end the agent could not report yet (the server
// is unreachable) keeps its data, even once the server stopped listing
// it; it goes once the end is reported.
func TestUnreportedEndKept(t *testing.T) {
	srv := newFakeServer()
	a := startAgent(t, srv, retain(Retention{MaxTasks: 1, MaxAge: time.Nanosecond}))
	stop := filepath.Join(t.TempDir(), "stop")
	srv.assign(sh("j-unrep", 0, `echo out; while [ ! -e "$STOP" ]; do sleep 0.02; done; exit 3`, map[string]string{"STOP": stop}))
	srv.waitStatus(t, "j-unrep", 0, 1, running)
	srv.set(func(s *fakeServer) { s.down = true })
	touch(t, stop)
	eventually(t, 2*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		tk := a.tasks[taskKey{"j-unrep", 0, 1}]
		return tk != nil && tk.state == api.ReplicaExited
	}, "the task to end")
	srv.assign() // no longer listed
	collections(t, a, 10)
	if st, _ := srv.last("j-unrep", 0, 1); st.State != api.ReplicaRunning {
		t.Fatalf("the end reached the server: %+v", st)
	}
	if got := taskDataOf(t, a, "j-unrep"); len(got) != 3 {
		t.Errorf("data of a task whose end is not reported: %q, want its logs and work directory", got)
	}
	srv.set(func(s *fakeServer) { s.down = false })
	srv.waitStatus(t, "j-unrep", 0, 1, ended)
	eventually(t, 5*time.Second, func() bool { return len(taskDataOf(t, a, "j-unrep")) == 0 },
		"the reported task's data to go: %q", taskDataOf(t, a, "j-unrep"))
}

// getLogHeader fetches a task's log and the header saying how much of
// its beginning was dropped.
func getLogHeader(t *testing.T, a *Agent, query string) (int, string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", api.AgentLogsPath+"?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+testLogsToken)
	a.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header().Get(api.LogDroppedHeader)
}

// A long-running task's log is rotated at LogMaxBytes: at most twice
// that is kept, and the log served is the end of its output, from the
// offset the dropped header names, while it runs and once it ended.
func TestLongRunningLogCapped(t *testing.T) {
	const limit = 4096
	srv := newFakeServer()
	a := startAgent(t, srv, retain(Retention{LogMaxBytes: limit}))
	var out strings.Builder
	for i := 1; i <= 20000; i++ {
		fmt.Fprintf(&out, "%d\n", i)
	}
	want := out.String() // 108,894 bytes
	task := sh("j-big", 0, `seq 1 20000; exec sleep 30`, nil)
	srv.assign(task)
	srv.waitStatus(t, "j-big", 0, 1, running)
	var body string
	eventually(t, 5*time.Second, func() bool {
		_, body, _ = getLogHeader(t, a, "job=j-big&replica=0&attempt=1")
		return strings.HasSuffix(body, "\n20000\n")
	}, "the whole output written: %d bytes served", len(body))
	check := func(when string) {
		t.Helper()
		dir := filepath.Join(a.cfg.DataDir, "logs", "j-big", "1")
		cur, err1 := os.Stat(filepath.Join(dir, "0.stdout"))
		prev, err2 := os.Stat(filepath.Join(dir, "0.stdout.1"))
		if err1 != nil || err2 != nil || cur.Size() > limit || prev.Size() != limit {
			t.Fatalf("%s: log files %v %v; want the current at most %d bytes and the previous %d", when, err1, err2, limit, limit)
		}
		kept := cur.Size() + prev.Size()
		dropped := int64(len(want)) - kept
		code, body, hdr := getLogHeader(t, a, "job=j-big&replica=0&attempt=1")
		if code != 200 || body != want[dropped:] || hdr != strconv.FormatInt(dropped, 10) {
			t.Errorf("%s: served %d, %d bytes (dropped %q), want the last %d bytes (dropped %d)",
				when, code, len(body), hdr, kept, dropped)
		}
		// Offsets are those of the whole output.
		at := dropped + limit + 10
		if _, body, _ := getLogHeader(t, a, "job=j-big&replica=0&attempt=1&offset="+strconv.FormatInt(at, 10)); body != want[at:] {
			t.Errorf("%s: from offset %d: %d bytes, want %d", when, at, len(body), len(want)-int(at))
		}
		if _, body, _ := getLogHeader(t, a, "job=j-big&replica=0&attempt=1&offset=5"); body != want[dropped:] {
			t.Errorf("%s: from offset 5, dropped: %d bytes, want the %d kept", when, len(body), kept)
		}
	}
	check("running")
	task.Stop = true
	srv.assign(task)
	srv.waitStatus(t, "j-big", 0, 1, ended)
	check("ended")
}

// A follower reads through rotations: kept up with, it gets every byte;
// fallen behind by more than what is kept, it skips what was dropped.
func TestViewFollowsRotations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.stdout")
	l, w, err := newStreamLog(path, 10, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer l.close()
	var got strings.Builder
	pos := int64(0)
	view, err := openView(path, l)
	if err != nil {
		t.Fatal(err)
	}
	read := func() {
		t.Helper()
		if view.stale() {
			if pos, err = view.copyFrom(&got, pos); err != nil {
				t.Fatal(err)
			}
			view.close()
			if view, err = openView(path, l); err != nil {
				t.Fatal(err)
			}
		}
		if pos, err = view.copyFrom(&got, pos); err != nil {
			t.Fatal(err)
		}
	}
	all := ""
	for i := range 8 { // 7 bytes each: a rotation every other write or so
		s := fmt.Sprintf("line %d\n", i)
		all += s
		l.write([]byte(s))
		read()
	}
	if got.String() != all {
		t.Errorf("follower kept up: %q, want %q", got.String(), all)
	}
	for i := 8; i < 16; i++ { // 56 bytes unread: more than the 20 kept
		s := fmt.Sprintf("line %d\n", i)
		all += s
		l.write([]byte(s))
	}
	read()
	// 112 bytes written: [100, 110) and [110, 112) are kept. The
	// follower still held the file of [50, 60) open and read it to its
	// end; then it skipped to 100.
	if want := all[:60] + all[100:]; got.String() != want || view.dropped != 100 {
		t.Errorf("follower behind: %q (dropped %d), want %q (dropped 100)", got.String(), view.dropped, want)
	}
	view.close()
}

// The collection deletes only what the agent's names are, in its own
// directories: no link is followed, no other file taken.
func TestCollectStaysInItsDirectories(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	mustWrite := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		touch(t, p)
	}
	mustLink := func(target, p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"1/0.stdout", "1/0/file", "keep.txt"} {
		mustWrite(filepath.Join(outside, p))
	}
	mustWrite(filepath.Join(dir, "logs", "j", "1", "0.stdout"))   // the agent's: goes
	mustWrite(filepath.Join(dir, "logs", "j", "1", "notes.txt"))  // not the agent's name
	mustWrite(filepath.Join(dir, "logs", "j", "x", "0.stdout"))   // not an attempt
	mustWrite(filepath.Join(dir, "logs", "j k", "1", "0.stdout")) // not a job's directory name
	mustLink(outside, filepath.Join(dir, "logs", "evil"))
	mustLink(filepath.Join(outside, "1"), filepath.Join(dir, "logs", "j2", "1"))
	mustLink(filepath.Join(outside, "1", "0.stdout"), filepath.Join(dir, "logs", "j3", "1", "0.stdout"))
	mustLink(filepath.Join(outside, "1", "0"), filepath.Join(dir, "work", "j", "1", "0"))
	mustLink("../../../../..", filepath.Join(dir, "work", "j4", "1", "0"))
	mustWrite(filepath.Join(dir, "node.crt"))
	a, err := New(Config{Name: "n1", DataDir: dir, CPUs: 1, MemoryGiB: 1,
		Retention: Retention{MaxTasks: -1, MaxAge: time.Nanosecond, DiskPercent: -1}}, newFakeServer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.ln.Close() })
	time.Sleep(time.Millisecond)
	if err := a.collect(time.Now()); err != nil {
		t.Fatal(err)
	}
	var left []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			left = append(left, rel)
		}
		return nil
	})
	want := []string{"agent.lock", "logs/evil", "logs/j/1/notes.txt", "logs/j/x/0.stdout", "logs/j k/1/0.stdout",
		"logs/j2/1", "logs/j3/1/0.stdout", "node.crt", "work/j/1/0", "work/j4/1/0"}
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("left in the data directory (-want +got):\n%s", diff)
	}
	for _, p := range []string{"1/0.stdout", "1/0/file", "keep.txt"} {
		if _, err := os.Stat(filepath.Join(outside, p)); err != nil {
			t.Errorf("outside the data directory: %v", err)
		}
	}
}

// While the data directory's disk is fuller than DiskPercent, finished
// tasks' data goes, oldest first, however few and young they are.
func TestDiskThresholdDeletesTheOldest(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	for i, job := range []string{"j-d1", "j-d2", "j-d3", "j-d4"} {
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
	a, err := New(Config{Name: "n1", DataDir: dir, CPUs: 1, MemoryGiB: 1,
		Retention: Retention{MaxTasks: -1, MaxAge: -1, DiskPercent: 80}}, newFakeServer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.ln.Close() })
	calls := 0
	a.diskUsed = func() (float64, error) { // full until two are deleted
		calls++
		return map[bool]float64{true: 95, false: 50}[calls <= 2], nil
	}
	if err := a.collect(now); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, job := range []string{"j-d1", "j-d2", "j-d3", "j-d4"} {
		if _, err := os.Stat(filepath.Join(dir, "logs", job)); err == nil {
			left = append(left, job)
		}
	}
	if diff := cmp.Diff([]string{"j-d3", "j-d4"}, left); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
}

// retentionPlan ranks by the job's last activity, then by the task's end.
func TestRetentionPlan(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ago := func(h int) time.Time { return now.Add(-time.Duration(h) * time.Hour) }
	d := func(job, replica string, end time.Time) taskData {
		return taskData{key: dataKey{job, "1", replica}, end: end}
	}
	found := []taskData{
		d("old", "0", ago(100)),
		d("mid", "0", ago(50)),
		d("gang", "0", ago(90)), // its replica 1 still runs: kept as if it ended now
		d("gang", "1", ago(0)),  // held
		d("new", "0", ago(1)),
		d("late", "0", ago(80)), // ended long ago, but its job's other task just ended
		d("late", "1", ago(2)),
	}
	held := map[dataKey]bool{{"gang", "1", "1"}: true}
	active := map[string]bool{"gang": true}
	names := func(ds []taskData) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.key.job+"/"+d.key.replica)
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		r             Retention
		unfinished    map[string]bool
		expired, disk []string
	}{
		{"no limits", Retention{MaxTasks: -1, MaxAge: -1}, nil,
			nil, []string{"old/0", "mid/0", "late/0", "late/1", "new/0", "gang/0"}},
		{"age", Retention{MaxTasks: -1, MaxAge: 60 * time.Hour}, nil,
			[]string{"old/0"}, []string{"mid/0", "late/0", "late/1", "new/0", "gang/0"}},
		{"count", Retention{MaxTasks: 3, MaxAge: -1}, nil,
			[]string{"late/0", "mid/0", "old/0"}, []string{"late/1", "new/0", "gang/0"}},
		{"both", Retention{MaxTasks: 4, MaxAge: 24 * time.Hour}, nil,
			[]string{"mid/0", "old/0"}, []string{"late/0", "late/1", "new/0", "gang/0"}},
		// Unfinished jobs' tasks are neither counted nor aged, and the
		// disk limit takes them last, oldest first.
		{"unfinished", Retention{MaxTasks: 2, MaxAge: 24 * time.Hour}, map[string]bool{"old": true, "late": true},
			[]string{"mid/0"}, []string{"new/0", "gang/0", "old/0", "late/0", "late/1"}},
	} {
		expired, disk := retentionPlan(found, held, active, tc.unfinished, now, tc.r)
		if diff := cmp.Diff(tc.expired, names(expired)); diff != "" {
			t.Errorf("%s: expired (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(tc.disk, names(disk)); diff != "" {
			t.Errorf("%s: by disk, oldest first (-want +got):\n%s", tc.name, diff)
		}
	}
}
