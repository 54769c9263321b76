package server

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// lockedBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A server restarted with a site's envelope below the load of the work
// it runs there keeps that work running and warns, naming the site, its
// envelope and its load; a site under its envelope gets no warning.
func TestRestartWithEnvelopeBelowLoadWarns(t *testing.T) {
	fac := func(kw float64) *model.Facility {
		f := DevFacility("local", "FR")
		f.Sites[0].PowerEnvelopeKW = kw
		return f
	}
	e := newEnv(t, fac(100), true)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatal(code)
	}
	id := e.submit(spec(8, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	if code := e.register("n1", "local", 8, running(id, 0, 1)); code != 200 {
		t.Fatal(code)
	}

	for _, c := range []struct {
		kw   float64
		warn bool
	}{{100, false}, {1, true}} {
		e.s.store.Close()
		var logs lockedBuffer
		e = openEnv(t, e.dir, fac(c.kw), true, e.clock, func(cfg *Config) {
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		got := strings.Contains(logs.String(), "site=local") && strings.Contains(logs.String(), "envelope_kw=1 ")
		if got != c.warn {
			t.Errorf("restart with a %v kW envelope: logs %q; want a warning naming site local and its envelope: %v", c.kw, logs.String(), c.warn)
		}
		if j := e.job(id); j.State != api.StateRunning {
			t.Errorf("restart with a %v kW envelope: job %s, want running", c.kw, j.State)
		}
	}
	// Nothing that adds load starts there meanwhile.
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatal(code)
	}
	more := e.submit(spec(1, 1))
	e.pass()
	if j := e.job(more); j.State != api.StatePending {
		t.Errorf("a job submitted while the site is over its envelope: %s on %v, want pending", j.State, j.Replicas)
	}
}
