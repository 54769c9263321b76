package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// beat sends one heartbeat from n1 reporting tasks and a sample of each
// of gpus at w watts, stamped at (the agent's clock); it returns the
// status.
func beat(e *env, tasks []api.TaskStatus, gpus []int, at time.Time, w float64) int {
	e.t.Helper()
	samples := []api.GPUSample{}
	for _, g := range gpus {
		samples = append(samples, api.GPUSample{Index: g, Time: at, PowerW: w})
	}
	return e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{Tasks: tasks, GPUs: samples}, nil)
}

// joules is carnot_energy_joules_total of site, as /metrics shows it
// (0 when absent).
func (e *env) joules(site string) float64 {
	e.t.Helper()
	return e.metric("carnot_energy_joules_total", site)
}

// unpricedJoules is carnot_energy_unpriced_joules_total of site (0 when
// absent).
func (e *env) unpricedJoules(site string) float64 {
	e.t.Helper()
	return e.metric("carnot_energy_unpriced_joules_total", site)
}

// metric is the value of a series of name labelled with site alone, as
// /metrics shows it (0 when absent).
func (e *env) metric(name, site string) float64 {
	e.t.Helper()
	prefix := fmt.Sprintf("%s{site=%q} ", name, site)
	for line := range strings.Lines(e.scrape()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatalf("/metrics: %q: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// oneGPUJob submits a one-GPU job and starts it on n1; it returns the
// job, its running report and its GPU.
func oneGPUJob(e *env) (id string, run []api.TaskStatus, gpus []int) {
	e.t.Helper()
	id = e.submit(spec(1, 1))
	e.pass()
	e.report("n1", running(id, 0, 1))
	return id, []api.TaskStatus{running(id, 0, 1)}, e.job(id).Replicas[0].GPUs
}

// secondsAt1kW is a job's IT energy in seconds at 1 kW.
func secondsAt1kW(e *env, id string) float64 {
	e.t.Helper()
	return e.job(id).Usage.ITKWh * 3600
}

// Energy is power × the time between samples as the server received
// them: the agent's clock (ahead, behind, fast, stepped) moves none of
// it. A sample stamped a day ahead used to stop the job's energy for a
// day (every later sample was "late"); a clock running 3× fast was
// credited 3 s per second.
func TestEnergyCountsServerTimeWhateverTheAgentsClock(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stamp func(i int, now time.Time) time.Time // the agent's time of beat i
	}{
		{"right", func(_ int, now time.Time) time.Time { return now }},
		{"a day ahead", func(_ int, now time.Time) time.Time { return now.Add(24 * time.Hour) }},
		{"a day behind", func(_ int, now time.Time) time.Time { return now.Add(-24 * time.Hour) }},
		{"3x fast", func(i int, now time.Time) time.Time { return now.Add(time.Duration(2*i) * time.Second) }},
		{"one sample a day ahead", func(i int, now time.Time) time.Time {
			if i == 10 {
				return now.Add(24 * time.Hour)
			}
			return now
		}},
		{"stepped back an hour", func(i int, now time.Time) time.Time {
			if i >= 30 {
				return now.Add(-time.Hour)
			}
			return now
		}},
		{"no time", func(int, time.Time) time.Time { return time.Time{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := devEnv(t)
			id, run, g := oneGPUJob(e)
			for i := range 61 { // 60 s of server time, a beat a second
				if i > 0 {
					e.clock.add(time.Second)
				}
				if code := beat(e, run, g, tc.stamp(i, e.clock.now()), 1000); code != 200 {
					t.Fatalf("beat %d: %d", i, code)
				}
			}
			if got := secondsAt1kW(e, id); math.Abs(got-60) > 1e-6 {
				t.Errorf("60 s of server time at 1 kW counted %.3f s", got)
			}
		})
	}
}

// Two heartbeats the server receives at one instant add no time: the
// second's interval is empty, however far apart their samples' stamps.
func TestEnergyBeatsAtOneInstantAddNothing(t *testing.T) {
	e := devEnv(t)
	id, run, g := oneGPUJob(e)
	at := e.clock.now()
	beat(e, run, g, at, 1000)
	e.clock.add(time.Second)
	beat(e, run, g, at.Add(time.Second), 1000)
	beat(e, run, g, at.Add(-time.Hour), 1000) // late, out of order
	beat(e, run, g, at.Add(time.Hour), 1000)  // ahead
	if got := secondsAt1kW(e, id); math.Abs(got-1) > 1e-9 {
		t.Errorf("1 s at 1 kW, then three beats at the same instant: %.3f s counted", got)
	}
}

// A node that registers again (its agent restarted) starts its energy
// afresh: the time its agent was away is not filled with the last power
// read before it went.
func TestEnergyStartsAfreshAtRegistration(t *testing.T) {
	e := devEnv(t)
	g := []int{0}
	beat(e, nil, g, e.clock.now(), 1000)
	e.clock.add(time.Second)
	beat(e, nil, g, e.clock.now(), 1000) // 1 s
	before := e.joules("local")
	e.clock.add(2 * time.Second)
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register: %d", code)
	}
	beat(e, nil, g, e.clock.now(), 1000) // the first sample after it: nothing yet
	e.clock.add(time.Second)
	beat(e, nil, g, e.clock.now(), 1000) // 1 s
	pue := e.s.fac.Sites[0].PUE
	if got := (e.joules("local") - before) / pue / 1000; math.Abs(got-1) > 1e-9 {
		t.Errorf("after the node registered again, %.3f s at 1 kW counted for 1 s of samples", got)
	}
}

// A power reading beyond what the node's GPU model can draw (twice the
// higher of its TDP and its highest power cap) is refused with the
// heartbeat, as a negative or infinite one is: 1e308 W made the site's
// power +Inf, so that GET /v1/sites answered 500 and the next usage
// flush failed the commit, reloading the server. The heartbeat changes
// nothing; a reading at the bound is taken.
func TestHeartbeatPowerBeyondTheGPUIsRefused(t *testing.T) {
	e := devEnv(t) // 8 H100s: 700 W TDP and highest cap
	id, run, g := oneGPUJob(e)
	beat(e, run, g, e.clock.now(), 700)
	e.clock.add(time.Second)
	if code := beat(e, run, g, e.clock.now(), 1400); code != 200 {
		t.Fatalf("a reading of 1400 W from an H100: %d, want it taken", code)
	}
	before := e.job(id).Usage
	var sites api.SiteList
	e.do("GET", "/v1/sites", nil, &sites)
	power := sites.Sites[0].ITPowerKW
	for _, w := range []float64{1400.5, 1e308, math.MaxFloat64} {
		e.clock.add(time.Second)
		hb := api.Heartbeat{Tasks: []api.TaskStatus{exited(id, 0, 1, 0)},
			GPUs: []api.GPUSample{{Index: g[0], Time: e.clock.now(), PowerW: w}}}
		var p api.Problem
		if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", hb, &p); code != http.StatusBadRequest {
			t.Fatalf("a reading of %g W from an H100: %d, want 400", w, code)
		}
		if len(p.Errors) != 1 || p.Errors[0].Field != "gpus[0].power_w" ||
			!strings.Contains(p.Errors[0].Message, "H100") || !strings.Contains(p.Errors[0].Message, fmt.Sprint(w)) {
			t.Errorf("a reading of %g W: %+v, want an error on gpus[0].power_w naming the H100 and the reading", w, p.Errors)
		}
	}
	j := e.job(id)
	j.Usage.GPUSeconds, before.GPUSeconds = 0, 0 // the running attempt's, up to now
	if j.State != api.StateRunning || j.Usage != before {
		t.Errorf("after refused heartbeats: job %s, energy %+v; want it running, energy %+v, as before them", j.State, j.Usage, before)
	}
	if code := e.do("GET", "/v1/sites", nil, &sites); code != 200 || sites.Sites[0].ITPowerKW != power {
		t.Errorf("GET /v1/sites: %d, IT power %v kW, want 200 and the %v kW of the readings last taken", code, sites.Sites[0].ITPowerKW, power)
	}
	for line := range strings.Lines(e.scrape()) {
		if strings.HasSuffix(strings.TrimSpace(line), " +Inf") {
			t.Errorf("/metrics after refused readings: %s", strings.TrimSpace(line))
		}
	}
	e.clock.add(usageFlushEvery)
	e.pass()
	e.s.mu.Lock()
	failed := e.s.failed
	e.s.mu.Unlock()
	if failed != nil {
		t.Errorf("the usage flush after refused readings failed: %v", failed)
	}
}

// An interval across an hour's end is priced and weighed in parts, each
// at its hour's figures (it was all at the hour the heartbeat arrived
// in); a part in an hour the site's grid series does not hold is
// counted as unpriced energy (carnot_energy_unpriced_joules_total), and
// the server warns once that the site's energy goes unpriced.
func TestEnergyPricedAtTheHourOfEachPart(t *testing.T) {
	for _, tc := range []struct {
		name       string
		next       bool // the series holds the next hour
		eur, gco2e float64
		unpricedS  float64 // seconds at 1 kW
	}{
		{"both hours in the series", true, 2*100 + 1*200, 2*50 + 1*300, 0},
		{"the series ends with the first", false, 2 * 100, 2 * 50, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := devEnv(t)
			var logs bytes.Buffer
			e.s.log = slog.New(slog.NewTextHandler(&logs, nil))
			t0 := e.clock.now().Truncate(time.Hour).Add(time.Hour - 2*time.Second) // hh:59:58
			e.clock.add(t0.Sub(e.clock.now()))
			h := model.TimeOf(t0.Truncate(time.Hour))
			hours := []model.GridHour{{Start: h, PriceEURMWh: 100, CarbonGkWh: 50}}
			if tc.next {
				hours = append(hours, model.GridHour{Start: h.Add(model.Hour), PriceEURMWh: 200, CarbonGkWh: 300})
			}
			e.s.cfg.Grid = []model.GridSeries{{Zone: "FR", Hours: hours}}
			e.report("n1") // heard from at the new time
			id, run, g := oneGPUJob(e)
			beat(e, run, g, e.clock.now(), 1000) // hh:59:58
			for range 3 {                        // to hh+1:00:01
				e.clock.add(time.Second)
				beat(e, run, g, e.clock.now(), 1000)
			}
			pue := e.s.fac.Sites[0].PUE
			kWhPerS := 1.0 / 3600 * pue // facility kWh of 1 s at 1 kW
			u := e.job(id).Usage
			if want := tc.eur * kWhPerS / 1000; math.Abs(u.EUR-want) > 1e-12 {
				t.Errorf("cost %v EUR, want %v", u.EUR, want)
			}
			if want := tc.gco2e * kWhPerS; math.Abs(u.GCO2e-want) > 1e-9 {
				t.Errorf("carbon %v g, want %v", u.GCO2e, want)
			}
			if got, want := e.unpricedJoules("local"), tc.unpricedS*1000*pue; math.Abs(got-want) > 1e-6 {
				t.Errorf("carnot_energy_unpriced_joules_total %v, want %v", got, want)
			}
			if want := tc.unpricedS * kWhPerS; math.Abs(u.UnpricedKWh-want) > 1e-12 {
				t.Errorf("the job's unpriced energy %v kWh, want %v", u.UnpricedKWh, want)
			}
			e.clock.add(time.Second)
			beat(e, run, g, e.clock.now(), 1000) // another unpriced second, or priced
			if n := strings.Count(logs.String(), "not priced"); tc.unpricedS > 0 && (n != 1 || !strings.Contains(logs.String(), "site=local")) {
				t.Errorf("want one warning naming the site, got %d:\n%s", n, logs.String())
			} else if tc.unpricedS == 0 && n != 0 {
				t.Errorf("warnings with every hour priced:\n%s", logs.String())
			}
		})
	}
}

// A tenant's usage (GET /v1/usage, GET /v1/tenants) is the sum of its
// jobs' as GET /v1/jobs shows them, energy included: the energy counted
// since the last usage flush (every usageFlushEvery) was missing from
// the tenant's, which showed 0 kWh while its job showed some. Once
// flushed, it is not counted twice.
func TestTenantUsageIsItsJobsLive(t *testing.T) {
	for _, priced := range []bool{true, false} {
		t.Run(fmt.Sprintf("priced=%v", priced), func(t *testing.T) { tenantUsageIsItsJobsLive(t, priced) })
	}
}

// tenantUsageIsItsJobsLive is TestTenantUsageIsItsJobsLive with the
// site's grid series holding the hour (priced) or no series at all, so
// that the energy goes unpriced and its count must add up as well.
func tenantUsageIsItsJobsLive(t *testing.T, priced bool) {
	e := devEnv(t)
	h := model.TimeOf(e.clock.now().Truncate(time.Hour))
	if priced {
		e.s.cfg.Grid = []model.GridSeries{{Zone: "FR", Hours: []model.GridHour{{Start: h, PriceEURMWh: 100, CarbonGkWh: 50}}}}
	}
	id, run, g := oneGPUJob(e)
	check := func(when string) {
		t.Helper()
		var jl api.JobList
		e.do("GET", "/v1/jobs?tenant=default", nil, &jl)
		var sum api.Usage
		for _, j := range jl.Jobs {
			sum.Add(j.Usage)
		}
		var ul api.UsageList
		e.do("GET", "/v1/usage", nil, &ul)
		var tl api.TenantList
		e.do("GET", "/v1/tenants", nil, &tl)
		for what, u := range map[string]api.Usage{"GET /v1/usage": ul.Total, "GET /v1/tenants": tl.Tenants[0].Usage} {
			if d := math.Abs(u.ITKWh-sum.ITKWh) + math.Abs(u.KWh-sum.KWh) + math.Abs(u.EUR-sum.EUR) + math.Abs(u.GCO2e-sum.GCO2e) + math.Abs(u.GPUSeconds-sum.GPUSeconds) + math.Abs(u.UnpricedKWh-sum.UnpricedKWh); d > 1e-9 {
				t.Errorf("%s: %s: %+v; the tenant's jobs: %+v", when, what, u, sum)
			}
		}
	}
	beat(e, run, g, e.clock.now(), 700)
	for range 5 {
		e.clock.add(time.Second)
		beat(e, run, g, e.clock.now(), 700)
	}
	if e.job(id).Usage.ITKWh == 0 {
		t.Fatal("no energy counted")
	}
	if u := e.job(id).Usage; !priced && u.UnpricedKWh != u.KWh {
		t.Fatalf("with no grid series the job's unpriced energy is %v kWh of %v", u.UnpricedKWh, u.KWh)
	}
	check("before a usage flush")
	e.clock.add(usageFlushEvery)
	beat(e, run, g, e.clock.now(), 700)
	e.pass() // flushes
	check("after a usage flush")
	e.clock.add(time.Second)
	beat(e, run, g, e.clock.now(), 700)
	check("after a flush and a heartbeat")
}

// Every heartbeat's answer carries the server's interval, which agents
// take: a server restarted with another --heartbeat is not registered
// with again, and its agents kept the interval of their registration.
func TestHeartbeatReplyCarriesTheInterval(t *testing.T) {
	e := devEnv(t)
	var r api.HeartbeatReply
	if code := e.do("POST", "/v1/agent/nodes/n1/heartbeat", api.Heartbeat{}, &r); code != 200 {
		t.Fatalf("heartbeat: %d", code)
	}
	if r.HeartbeatSeconds == nil || *r.HeartbeatSeconds != e.s.cfg.Heartbeat.Seconds() {
		t.Errorf("heartbeat_seconds %v in the answer, want the server's %v", r.HeartbeatSeconds, e.s.cfg.Heartbeat.Seconds())
	}
}

// An agent that keeps the interval of its registration (one older than
// HeartbeatReply.HeartbeatSeconds) after the server restarts with a
// shorter --heartbeat loses no energy: a gap is capped at three of the
// longer of the server's interval and the one the node was given at
// registration (stored with the node), not three of the server's, which
// counted 3 s of every 5.
func TestEnergyGapCapFollowsTheIntervalGivenAtRegistration(t *testing.T) {
	dir, clk := t.TempDir(), &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	every := func(d time.Duration) func(*Config) {
		return func(c *Config) { c.Heartbeat, c.HeartbeatTimeout = d, 20*time.Second }
	}
	e := openEnv(t, dir, DevFacility("local", "FR"), true, clk, every(5*time.Second))
	if code := e.register("n1", "local", 8); code != 200 {
		t.Fatalf("register: %d", code)
	}
	e.s.store.Close()
	e = openEnv(t, dir, DevFacility("local", "FR"), true, clk, every(time.Second))
	id, run, g := oneGPUJob(e)
	beat(e, run, g, e.clock.now(), 1000)
	for range 12 { // a minute of beats every 5 s, as the agent was told
		e.clock.add(5 * time.Second)
		beat(e, run, g, e.clock.now(), 1000)
	}
	if got := secondsAt1kW(e, id); math.Abs(got-60) > 1e-6 {
		t.Errorf("a minute at 1 kW reported every 5 s counted %.1f s of energy, want 60", got)
	}
	// A node registered with this server is given its interval: a gap
	// of 5 s is three beats of 1 s.
	if code := e.register("n1", "local", 8, running(id, 0, 1)); code != 200 {
		t.Fatalf("register: %d", code)
	}
	before := secondsAt1kW(e, id)
	beat(e, run, g, e.clock.now(), 1000)
	e.clock.add(5 * time.Second)
	beat(e, run, g, e.clock.now(), 1000)
	if got := secondsAt1kW(e, id) - before; math.Abs(got-3) > 1e-6 {
		t.Errorf("a gap of 5 s from a node given 1 s counted %.1f s, want 3", got)
	}
}
