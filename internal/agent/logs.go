package agent

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// followEvery is how often a followed log is checked for new bytes.
const followEvery = 50 * time.Millisecond

// logQuery is a request to the log server.
type logQuery struct {
	key    taskKey
	stream string
	follow bool
	offset int64
}

func parseLogQuery(r *http.Request) (logQuery, error) {
	q := r.URL.Query()
	lq := logQuery{key: taskKey{Job: q.Get("job")}, stream: q.Get("stream")}
	if lq.key.Job == "" {
		return lq, errors.New("job is required")
	}
	var err error
	if lq.key.Replica, err = strconv.Atoi(q.Get("replica")); err != nil || lq.key.Replica < 0 {
		return lq, fmt.Errorf("replica %q: want a replica index", q.Get("replica"))
	}
	if lq.key.Attempt, err = strconv.Atoi(q.Get("attempt")); err != nil || lq.key.Attempt < 0 {
		return lq, fmt.Errorf("attempt %q: want an attempt number", q.Get("attempt"))
	}
	switch lq.stream {
	case "":
		lq.stream = "stdout"
	case "stdout", "stderr":
	default:
		return lq, fmt.Errorf("stream %q: want stdout or stderr", lq.stream)
	}
	if v := q.Get("follow"); v != "" {
		if lq.follow, err = strconv.ParseBool(v); err != nil {
			return lq, fmt.Errorf("follow %q: want true or false", v)
		}
	}
	if v := q.Get("offset"); v != "" {
		if lq.offset, err = strconv.ParseInt(v, 10, 64); err != nil || lq.offset < 0 {
			return lq, fmt.Errorf("offset %q: want a byte count", v)
		}
	}
	return lq, nil
}

// serveLogs streams a task's stdout or stderr from offset. With follow,
// it keeps sending what the task writes until the task has ended and all
// of the file is sent, or the client goes away.
func (a *Agent) serveLogs(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	want := a.logsToken
	a.mu.Unlock()
	got, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if want == "" || !bearer || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		http.Error(w, "the log server answers the Carnot server only (Authorization: Bearer, the token the server gave at registration)", http.StatusUnauthorized)
		return
	}
	lq, err := parseLogQuery(r)
	if err != nil {
		http.Error(w, "bad log request: "+err.Error(), http.StatusBadRequest)
		return
	}
	k := lq.key
	f, err := os.Open(logPath(a.cfg.DataDir, k, lq.stream))
	if errors.Is(err, fs.ErrNotExist) {
		http.Error(w, fmt.Sprintf("no %s log for job %s replica %d attempt %d on node %s",
			lq.stream, k.Job, k.Replica, k.Attempt, a.cfg.Name), http.StatusNotFound)
		return
	}
	if err != nil {
		a.log.Error("cannot open a task log", "err", err)
		http.Error(w, "cannot read the log", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	if _, err := f.Seek(lq.offset, io.SeekStart); err != nil {
		http.Error(w, "bad offset: "+err.Error(), http.StatusBadRequest)
		return
	}
	done, tracked := a.taskDone(k)
	follow := lq.follow && tracked
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	tick := time.NewTicker(followEvery)
	defer tick.Stop()
	for {
		ended := !follow || isClosed(done) // before the copy: what was written before the end is sent
		n, err := io.Copy(w, f)
		if err != nil {
			return // the client went away
		}
		if n > 0 {
			_ = rc.Flush()
		}
		if ended {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// taskDone is closed when the task has ended; tracked is false for a
// task the agent does not track (any more), which has ended.
func (a *Agent) taskDone(k taskKey) (done <-chan struct{}, tracked bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.tasks[k]; ok {
		return t.done, true
	}
	return nil, false
}
