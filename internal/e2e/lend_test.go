package e2e

import (
	"context"
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
