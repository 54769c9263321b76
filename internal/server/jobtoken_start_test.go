package server

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// copyStore copies the SQLite store of a closed server in dir to a new
// directory: a backup, to restore from.
func copyStore(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(dir, "carnot.db*"))
	if len(files) == 0 {
		t.Fatalf("no store in %s", dir)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// A job token stands for its attempt as it started: the store restored
// from a backup made before the attempt started starts the job again as
// the same attempt, later, and the token of the attempt before the
// restore (same key, same job, same attempt number) is refused, saying
// why; the token handed to the replayed attempt holds.
func TestJobTokenOfAReplayedAttemptIsRefused(t *testing.T) {
	e := devEnv(t)
	id := e.submit(spec(4, 1))
	e.s.store.Close()
	backup := copyStore(t, e.dir) // the job queued, not started
	e = openEnv(t, e.dir, e.s.cfg.Facility, true, e.clock)
	e.pass()
	e.report("n1", running(id, 0, 1))
	tok := taskToken(e, id)
	if code, body := e.doWith(bearer(tok), "POST", "/v1/jobs/"+id+"/checkpoint", nil, nil); code != http.StatusOK {
		t.Fatalf("the job token before the restore: %d %s; want 200", code, body)
	}
	e.s.store.Close()

	e.clock.add(time.Minute)
	r := openEnv(t, backup, e.s.cfg.Facility, true, e.clock)
	r.pass()
	r.report("n1", running(id, 0, 1))
	if j := r.job(id); j.Attempt != 1 {
		t.Fatalf("job %s after the restore: attempt %d; want attempt 1 again", id, j.Attempt)
	}
	for _, c := range []struct{ method, path string }{{"POST", "/v1/jobs/" + id + "/checkpoint"}, {"GET", "/v1/jobs/" + id}} {
		code, body := r.doWith(bearer(tok), c.method, c.path, nil, nil)
		if code != http.StatusUnauthorized || !bytes.Contains(body, []byte("unknown job token")) || !bytes.Contains(body, []byte("restore")) {
			t.Errorf("%s %s with the token of attempt 1 before the restore: %d %s; want 401, unknown, naming a restore", c.method, c.path, code, body)
		}
	}
	tok2 := taskToken(r, id)
	if tok2 == tok {
		t.Fatal("the replayed attempt was handed the token of the attempt before the restore")
	}
	if code, body := r.doWith(bearer(tok2), "POST", "/v1/jobs/"+id+"/checkpoint", nil, nil); code != http.StatusOK {
		t.Errorf("the token of the replayed attempt: %d %s; want 200", code, body)
	}
}

// Another control plane that shares the token key (a staging copy) and
// runs a job of the same ID at the same attempt, started at another
// time, makes another token: neither server takes the other's.
func TestJobTokenOfAnotherControlPlaneIsRefused(t *testing.T) {
	prod, staging := devEnv(t), devEnv(t)
	staging.clock.add(time.Second)
	toks := map[*env]string{}
	for _, e := range []*env{prod, staging} {
		if id := e.submit(spec(4, 1, "id", "train")); id != "train" {
			t.Fatalf("submitted job %q; want train", id)
		}
		e.pass()
		e.report("n1", running("train", 0, 1))
		toks[e] = taskToken(e, "train")
	}
	for e, other := range map[*env]*env{prod: staging, staging: prod} {
		if code, body := e.doWith(bearer(toks[e]), "POST", "/v1/jobs/train/checkpoint", nil, nil); code != http.StatusOK {
			t.Errorf("a server's own job token: %d %s; want 200", code, body)
		}
		code, body := e.doWith(bearer(toks[other]), "POST", "/v1/jobs/train/checkpoint", nil, nil)
		if code != http.StatusUnauthorized || !bytes.Contains(body, []byte("another control plane")) {
			t.Errorf("the job token of the same job and attempt on another control plane: %d %s; want 401 naming another control plane", code, body)
		}
	}
}

// An attempt whose start was held for lent power starts again when its
// replicas are handed (startsNow): the start moves before any task of it
// is handed, so the token its task gets is made for the start the job
// records, and holds.
func TestJobTokenOfAHeldStartHolds(t *testing.T) {
	e, b, c := lentAcrossNodes(t)
	held := *e.job(c).StartTime
	e.clock.add(time.Minute)
	e.report("n2", withCap(running(b, 0, 1), 400)) // the lowered limit set: c's replicas are handed
	if got := *e.job(c).StartTime; !got.After(held) {
		t.Fatalf("c's start %v once handed; want it moved past the hold's %v", got, held)
	}
	e.report("n1", running(c, 0, 1))
	if code, body := e.doWith(bearer(taskToken(e, c)), "POST", "/v1/jobs/"+c+"/checkpoint", nil, nil); code != http.StatusOK {
		t.Errorf("the job token of a start held, then handed: %d %s; want 200", code, body)
	}
}
