package server

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// scrape returns the body of /metrics.
func (e *env) scrape() string {
	e.t.Helper()
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

// carnot_nodes counts a drained node as draining, as `carnot nodes` and
// GET /v1/nodes show it, not as ready: a dashboard of ready nodes must
// not count nodes that take no work.
func TestMetricsNodeConditionDraining(t *testing.T) {
	e := devEnv(t)
	if code := e.register("n2", "local", 8); code != 200 {
		t.Fatalf("register n2: %d", code)
	}
	if code := e.do("POST", "/v1/nodes/n2/drain", nil, nil); code != 200 {
		t.Fatalf("drain: %d", code)
	}
	body := e.scrape()
	for _, want := range []string{`carnot_nodes{condition="ready",site="local"} 1`, `carnot_nodes{condition="draining",site="local"} 1`,
		// the drained node's idle GPUs are not free: nothing may start there
		`carnot_gpus{model="H100",site="local",state="free"} 8`, `carnot_gpus{model="H100",site="local",state="unschedulable"} 8`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Series of known label values stay, at 0, when nothing is in them: an
// alert on carnot_nodes{condition="ready"} < N, or on a tenant's queue,
// must see 0, not a series that vanished.
func TestMetricsZeroSeries(t *testing.T) {
	e := devEnv(t)
	body := e.scrape()
	for _, want := range []string{`carnot_queue_length{tenant="default"} 0`,
		`carnot_nodes{condition="not-ready",site="local"} 0`, `carnot_nodes{condition="draining",site="local"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("with nothing pending and every node ready, /metrics lacks %s", want)
		}
	}
	if code := e.do("POST", "/v1/nodes/n1/drain", nil, nil); code != 200 {
		t.Fatalf("drain: %d", code)
	}
	body = e.scrape()
	for _, want := range []string{`carnot_nodes{condition="ready",site="local"} 0`, `carnot_gpus{model="H100",site="local",state="free"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("with the only node drained, /metrics lacks %s", want)
		}
	}
	e.clock.add(e.s.cfg.HeartbeatTimeout + time.Second)
	e.pass()
	body = e.scrape()
	for _, want := range []string{`carnot_nodes{condition="not-ready",site="local"} 1`, `carnot_site_it_power_watts{site="local"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("with the only node silent, /metrics lacks %s", want)
		}
	}
}

// Facility energy is counted in joules, Prometheus's base unit, beside
// the kWh counter kept for dashboards that read it.
func TestMetricsEnergyInJoules(t *testing.T) {
	e := devEnv(t)
	for i := range 2 { // a second apart
		if i > 0 {
			e.clock.add(time.Second)
		}
		hb := api.Heartbeat{GPUs: []api.GPUSample{{Index: 0, Time: e.clock.now(), PowerW: 500}}}
		if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", hb, nil); code != 200 {
			t.Fatalf("heartbeat %d: %d", i, code)
		}
	}
	pue := e.s.fac.Sites[0].PUE
	body := e.scrape()
	for _, want := range []string{
		fmt.Sprintf("carnot_energy_joules_total{site=\"local\"} %g", 500*pue),
		fmt.Sprintf("carnot_energy_kwh_total{site=\"local\"} %g", 500*pue/3.6e6),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Every site of the facility has its energy series from the start, 0
// until its GPUs report, as it has its power and node series: an alert
// or a rate() over a site's energy finds 0, not no series.
func TestMetricsEnergySeriesFromTheStart(t *testing.T) {
	e := devEnv(t)
	body := e.scrape()
	for _, want := range []string{`carnot_energy_joules_total{site="local"} 0`, `carnot_energy_kwh_total{site="local"} 0`,
		`carnot_energy_unpriced_joules_total{site="local"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics of a site whose GPUs have not reported lacks %s", want)
		}
	}
}

// A node back from silence that still runs a replica lost meanwhile
// (api.Node.Unreachable) takes no work until its agent reports it
// stopped: its idle GPUs are unschedulable, not free.
func TestMetricsUnreachableNodesGPUsUnschedulable(t *testing.T) {
	e := devEnv(t)
	id := silentWithWork(t, e)
	if code := e.register("n1", "local", 8, running(id, 0, 1)); code != 200 {
		t.Fatal(code)
	}
	var n api.Node
	if e.do("GET", "/v1/nodes/n1", nil, &n); !n.Unreachable || n.Condition != api.NodeReady {
		t.Fatalf("n1 back, reporting its lost replica: %+v, want ready and unreachable", n)
	}
	body := e.scrape()
	for _, want := range []string{`carnot_gpus{model="H100",site="local",state="free"} 0`, `carnot_gpus{model="H100",site="local",state="unschedulable"} 8`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	e.report("n1") // its agent stopped it: n1 takes work again
	body = e.scrape()
	if want := `carnot_gpus{model="H100",site="local",state="free"} 8`; !strings.Contains(body, want) {
		t.Errorf("/metrics once n1 reports nothing lacks %s", want)
	}
}

// A node of the facility file whose agent has not registered is
// not-ready in carnot_nodes, as `carnot nodes` and GET /v1/nodes show
// it: an alert on not-ready nodes must see a node that never came up,
// and the conditions of a site must add up to its nodes.
func TestMetricsUnregisteredListedNodeNotReady(t *testing.T) {
	e := newEnv(t, listedFacility(), false)
	var n api.Node
	if e.do("GET", "/v1/nodes/a1", nil, &n); n.Condition != api.NodeNotReady {
		t.Fatalf("a1 before its agent registers: condition %q, want %q", n.Condition, api.NodeNotReady)
	}
	body := e.scrape()
	for _, want := range []string{`carnot_nodes{condition="not-ready",site="a"} 1`, `carnot_nodes{condition="ready",site="a"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("with a1 listed but not registered, /metrics lacks %s", want)
		}
	}
	if code := e.register("a1", "a", 8); code != 200 {
		t.Fatalf("register a1: %d", code)
	}
	body = e.scrape()
	for _, want := range []string{`carnot_nodes{condition="not-ready",site="a"} 0`, `carnot_nodes{condition="ready",site="a"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("with a1 registered, /metrics lacks %s", want)
		}
	}
}
