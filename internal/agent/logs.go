package agent

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
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
// of the file is sent, or the client goes away. Offsets are those of the
// whole output: what rotation dropped (tasklog.go) before the offset
// asked is skipped, and api.LogDroppedHeader says how much of the
// beginning that is; what it dropped after the reader's position, a
// reader that fell behind, is replaced by a gap line (gapLine) where it
// was.
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
	// First whether the agent tracks the task: if it does, its start is
	// over, and the view opened next is of the stream being written.
	done, tracked := a.taskDone(k)
	view, err := a.openLog(k, lq.stream)
	if errors.Is(err, fs.ErrNotExist) {
		// The Carnot server, the one client, names the node before it.
		http.Error(w, fmt.Sprintf("no %s log for job %s replica %d attempt %d: deleted past this node's "+
			"--gc-max-tasks, --gc-max-age or --gc-disk-percent once its job ended, or never written here",
			lq.stream, k.Job, k.Replica, k.Attempt), http.StatusNotFound)
		return
	}
	if err != nil {
		a.log.Error("cannot open a task log", "err", err)
		http.Error(w, "cannot read the log", http.StatusInternalServerError)
		return
	}
	defer func() { view.close() }()
	follow := lq.follow && tracked
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if view.dropped > 0 {
		h.Set(api.LogDroppedHeader, strconv.FormatInt(view.dropped, 10))
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	tick := time.NewTicker(followEvery)
	defer tick.Stop()
	out := &lineWriter{w: w, nl: true}
	pos := max(lq.offset, view.dropped) // the header said what is gone before
	for {
		ended := !follow || isClosed(done) // before the copy: what was written before the end is sent
		from := pos
		if view.stale() {
			// Rotated: read the rest of the files held, then what the
			// stream's files are now; what was dropped meanwhile is a
			// gap line.
			if pos, err = view.copyFrom(out, pos); err != nil {
				return
			}
			view.close()
			if view, err = a.openLog(k, lq.stream); err != nil {
				view = &logView{}
				return
			}
			if pos < view.dropped {
				if err = out.gap(lq.stream, pos, view.dropped); err != nil {
					return
				}
				pos = view.dropped
			}
		}
		if pos, err = view.copyFrom(out, pos); err != nil {
			return // the client went away
		}
		if pos > from {
			_ = rc.Flush()
		}
		if ended { // the writer had finished: the view was its last
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// lineWriter passes a log on and remembers whether what it passed ends
// a line, so that a gap line starts on a line of its own.
type lineWriter struct {
	w  io.Writer
	nl bool // nothing written yet, or the last byte was a newline
}

func (l *lineWriter) Write(b []byte) (int, error) {
	n, err := l.w.Write(b)
	if n > 0 {
		l.nl = b[n-1] == '\n'
	}
	return n, err
}

// gap writes the gap line of bytes [from, to) of stream, after a newline
// when the output before it ends mid-line.
func (l *lineWriter) gap(stream string, from, to int64) error {
	line := api.GapLine(stream, from, to)
	if !l.nl {
		line = "\n" + line
	}
	_, err := io.WriteString(l, line)
	return err
}

// openLog opens what is kept of a task's stream.
func (a *Agent) openLog(k taskKey, stream string) (*logView, error) {
	p, ok := a.rt.(*processes)
	if !ok {
		return nil, fs.ErrNotExist
	}
	return p.openLog(k, stream)
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
