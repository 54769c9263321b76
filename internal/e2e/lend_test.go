package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// lendFacility is recapFacility's node under a 4.35 kW envelope: a
// 2-GPU job at TDP (1.4 kW, with 1 kW of base power and the six other
// GPUs idle at 72 W) leaves a 4-GPU job about 450 W a GPU. Once the
// first ends, the second has room for TDP on its four GPUs (1 kW + 2.8
// kW + four idle GPUs), and a third 4-GPU job then fits, even at the
// H100's lowest cap (200 W), only if the second gives back the power
// lent to it.
var lendFacility = strings.Replace(recapFacility, "power_envelope_kw: 5.8", "power_envelope_kw: 4.35", 1)

// TestLentPowerTakenBack: a job started capped (b) runs on lent power
// once another (a) ended; a job submitted then (c), which fits only on
// that power, starts, and b's cap comes back down towards the cap it
// started with, never below it: b runs on, not preempted, its agent sets
// the lower limit on its fake GPUs, which draw less.
func TestLentPowerTakenBack(t *testing.T) {
	d, a, b := startCappedPair(t, lendFacility, 2)
	own, gpu := b.Replicas[0].PowerCapW, b.Replicas[0].GPUs[0]

	d.touch("a.stop")
	d.waitState(a.ID, api.StateSucceeded, 20*time.Second)
	d.waitFor("b's cap raised", 20*time.Second, func() bool {
		r := d.job(b.ID).Replicas[0]
		return r.PowerCapW == 0 || r.PowerCapW > own
	})
	if r := d.job(b.ID).Replicas[0]; r.StartPowerCapW != own {
		t.Errorf("b raised: replica %+v, want start_power_cap_w %d", r, own)
	}
	d.waitFor("b's GPU to draw more on lent power", 10*time.Second, func() bool { return d.gpuPower(gpu) > float64(own) })

	c := d.submit(map[string]any{"gpus": 4, "command": sh(untilFile("c.stop"))})
	jc := d.waitState(c.ID, api.StateRunning, 20*time.Second)
	rb := d.job(b.ID).Replicas[0]
	if d.job(b.ID).State != api.StateRunning || rb.PowerCapW == 0 || rb.PowerCapW < own || rb.StartPowerCapW != own {
		t.Fatalf("b once c started: %s, replica %+v; want it running, its cap lowered, not below its own %d W", d.job(b.ID).State, rb, own)
	}
	if jc.Replicas[0].PowerCapW <= 0 {
		t.Errorf("c started uncapped on a site with no room for it at TDP: %+v", jc.Replicas[0])
	}
	// The lower limit reaches b's GPUs: a busy fake H100 draws 560 W, or
	// its limit when that is lower.
	want := float64(min(560, rb.PowerCapW))
	d.waitFor("b's GPU to draw no more than its lowered cap", 10*time.Second, func() bool { return d.gpuPower(gpu) == want })

	evs, err := d.cl.Events(context.Background(), b.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lowered, preempted bool
	for _, ev := range evs.Events {
		lowered = lowered || ev.Type == api.EventRecap && strings.Contains(ev.Message, "lent power taken back")
		preempted = preempted || ev.Type == api.EventPreempt
	}
	t.Logf("b started at %d W, lowered to %d W once c started at %d W", own, rb.PowerCapW, jc.Replicas[0].PowerCapW)
	if !lowered || preempted {
		t.Errorf("b's events %+v, want a recap that took lent power back and no preemption", evs.Events)
	}
	for _, j := range []string{b.ID, c.ID} {
		if r := d.job(j).Replicas[0]; r.Error != "" {
			t.Errorf("%s's replica %+v, want no error", j, r)
		}
	}
	d.touch("b.stop")
	d.touch("c.stop")
	d.waitState(b.ID, api.StateSucceeded, 20*time.Second)
	d.waitState(c.ID, api.StateSucceeded, 20*time.Second)
}

// lendTwoNodes is recapFacility's site as "local" (the site of the
// fault cluster's join token) with two nodes of two H100s (100 W of base
// power each) under 2.4 kW. A 2-GPU job at TDP (1.4 kW) leaves a second one 400 W a
// GPU on the other node; once the first ends the second may draw TDP,
// and a third 2-GPU job then starts at TDP only on the power taken back
// from the second, down to 400 W, on another node.
var lendTwoNodes = strings.NewReplacer(
	"id: s1", "id: local", "power_envelope_kw: 5.8", "power_envelope_kw: 2.4",
	"names: node-1", "names: node-[1-2]", "gpus: 8", "gpus: 2", "base_watts: 1000", "base_watts: 100",
).Replace(recapFacility)

// TestStartOnLentPowerWaitsForTheOtherAgent: with real agents on two
// nodes, a job started on power taken back from a job on the other node
// is held from its agent until that job's agent has set the lower limit
// (its power-hold events), and only then runs: its replica's running
// event comes after the release.
func TestStartOnLentPowerWaitsForTheOtherAgent(t *testing.T) {
	facFile := filepath.Join(t.TempDir(), "facility.yaml")
	if err := os.WriteFile(facFile, []byte(lendTwoNodes), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFaultClusterOf(t, []string{"--facility", facFile}, 2)
	d := f.cli
	d.cl = f.cl
	a := d.waitState(d.submit(map[string]any{"gpus": 2, "command": sh(untilFile("a.stop"))}).ID, api.StateRunning, 20*time.Second)
	b := d.waitState(d.submit(map[string]any{"gpus": 2, "command": sh(untilFile("b.stop"))}).ID, api.StateRunning, 20*time.Second)
	if a.Replicas[0].PowerCapW != 0 || b.Replicas[0].PowerCapW != 400 || a.Replicas[0].Node == b.Replicas[0].Node {
		t.Fatalf("a %+v, b %+v; want a at TDP and b at 400 W on the other node", a.Replicas, b.Replicas)
	}
	d.touch("a.stop")
	d.waitState(a.ID, api.StateSucceeded, 20*time.Second)
	d.waitFor("b's cap lifted", 20*time.Second, func() bool { return d.job(b.ID).Replicas[0].PowerCapW == 0 })

	c := d.submit(map[string]any{"gpus": 2, "command": sh(untilFile("c.stop"))})
	jc := d.waitState(c.ID, api.StateRunning, 20*time.Second)
	if jc.Replicas[0].Node == b.Replicas[0].Node || d.job(b.ID).Replicas[0].PowerCapW != 400 {
		t.Fatalf("c %+v, b %+v; want c on a's node and b lowered to 400 W", jc.Replicas, d.job(b.ID).Replicas)
	}
	var evs *api.EventList
	d.waitFor("c's replica running", 20*time.Second, func() bool {
		var err error
		if evs, err = f.cl.Events(context.Background(), c.ID, 0); err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(evs.Events, func(ev api.Event) bool { return ev.Type == api.EventReplica && strings.Contains(ev.Message, "running") })
	})
	var order []string
	for _, ev := range evs.Events {
		switch {
		case ev.Type == api.EventPowerHold && strings.Contains(ev.Message, "held"):
			order = append(order, "held")
		case ev.Type == api.EventPowerHold:
			order = append(order, "handed")
		case ev.Type == api.EventReplica && strings.Contains(ev.Message, "running"):
			order = append(order, "running")
		}
	}
	if !slices.Equal(order, []string{"held", "handed", "running"}) {
		t.Errorf("c's events in order %v, want held, handed, running: %+v", order, evs.Events)
	}
	d.touch("b.stop")
	d.touch("c.stop")
	d.waitState(b.ID, api.StateSucceeded, 20*time.Second)
	d.waitState(c.ID, api.StateSucceeded, 20*time.Second)
}
