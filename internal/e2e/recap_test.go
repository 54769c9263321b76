package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// recapFacility is one site of one node, node-1: 8 H100s (700 W, idle
// 72 W, capped 200–700 W) and 1 kW of base power, under a 5.8 kW
// envelope. A 4-GPU job at TDP takes 2.8 kW; a second one then fits only
// capped (1 kW + 2.8 kW + 4 × 500 W); once the first ends, the second
// has 4.5 kW for its four GPUs.
const recapFacility = `name: recap
sites:
  - id: s1
    name: recap site
    country: FR
    operator: e2e
    power_envelope_kw: 5.8
    pue: 1.2
    grid_zone: FR
    halls:
      - id: h1
        cooling: liquid
        racks:
          - id: r1
            nodes:
              - names: node-1
                gpu_model: H100
                gpus: 8
                cpus: 64
                memory_gib: 512
                base_watts: 1000
tenants:
  - name: default
policy:
  quotas: false
  power_recap: true
`

// gpuPower is the power node-1's GPU i drew at its last heartbeat.
func (d *dev) gpuPower(i int) float64 {
	d.t.Helper()
	n, err := d.cl.GetNode(context.Background(), "node-1")
	if err != nil {
		d.t.Fatal(err)
	}
	for _, s := range n.Telemetry {
		if s.Index == i {
			return s.PowerW
		}
	}
	return -1
}

// TestPowerRecapEndToEnd: a job that started capped, because another
// held most of the site's power, has its cap raised once the other
// ends: the server's pass recaps it (an event says so), and the agent
// sets the new limit on its fake GPUs, which draw more.
func TestPowerRecapEndToEnd(t *testing.T) {
	dir := t.TempDir()
	facFile := filepath.Join(dir, "facility.yaml")
	if err := os.WriteFile(facFile, []byte(recapFacility), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDev(t, "--facility", facFile, "--site", "s1", "--fake-gpus", "8")
	waitFor := func(name string) string {
		return `while [ ! -e ` + name + ` ]; do sleep 0.05; done`
	}
	a := d.submit(map[string]any{"gpus": 4, "command": sh(waitFor("a.stop"))})
	d.waitState(a.ID, api.StateRunning, 20*time.Second)
	b := d.submit(map[string]any{"gpus": 4, "command": sh(waitFor("b.stop"))})
	jb := d.waitState(b.ID, api.StateRunning, 20*time.Second)
	if ja := d.job(a.ID); ja.Replicas[0].PowerCapW != 0 {
		t.Fatalf("a started capped at %d W, want it at TDP", ja.Replicas[0].PowerCapW)
	}
	capW, gpu := jb.Replicas[0].PowerCapW, jb.Replicas[0].GPUs[0]
	if capW <= 0 || capW >= 700 {
		t.Fatalf("b started with cap %d W, want it capped below 700 W", capW)
	}
	// A busy fake H100 draws 560 W, or its limit when that is lower.
	d.waitFor("b's GPU to draw its cap", 10*time.Second, func() bool { return d.gpuPower(gpu) == float64(min(560, capW)) })

	if err := os.WriteFile(filepath.Join(d.Work, "a.stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitState(a.ID, api.StateSucceeded, 20*time.Second)
	var raised int
	d.waitFor("b's cap raised", 20*time.Second, func() bool {
		raised = d.job(b.ID).Replicas[0].PowerCapW
		return raised == 0 || raised > capW
	})
	want := 560.0
	if raised > 0 {
		want = float64(min(560, raised))
	}
	d.waitFor("b's GPU to draw more under its raised cap", 10*time.Second, func() bool { return d.gpuPower(gpu) == want })
	evs, err := d.cl.Events(context.Background(), b.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	recaps := 0
	for _, ev := range evs.Events {
		if ev.Type == api.EventRecap && strings.Contains(ev.Message, "power cap") {
			recaps++
		}
	}
	if recaps == 0 {
		t.Errorf("b's events %+v, want a recap", evs.Events)
	}
	if j := d.job(b.ID); j.State != api.StateRunning || j.Replicas[0].Error != "" {
		t.Errorf("b after its recap: %s, replica %+v; want it running on, no error", j.State, j.Replicas[0])
	}
	if err := os.WriteFile(filepath.Join(d.Work, "b.stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitState(b.ID, api.StateSucceeded, 20*time.Second)
}
