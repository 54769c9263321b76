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
	d, a, b := startCappedPair(t, recapFacility, 4)
	capW, gpu := b.Replicas[0].PowerCapW, b.Replicas[0].GPUs[0]
	// A busy fake H100 draws 560 W, or its limit when that is lower.
	d.waitFor("b's GPU to draw its cap", 10*time.Second, func() bool { return d.gpuPower(gpu) == float64(min(560, capW)) })

	d.touch("a.stop")
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
	d.touch("b.stop")
	d.waitState(b.ID, api.StateSucceeded, 20*time.Second)
}

// startCappedPair starts carnot dev on the facility YAML fac and in it
// job a on gpusA GPUs, which must start at TDP, then b on 4 GPUs, which
// must start capped; each runs until the file a.stop or b.stop appears
// in d.Work (see touch).
func startCappedPair(t *testing.T, fac string, gpusA int) (d *dev, a, b *api.Job) {
	t.Helper()
	facFile := filepath.Join(t.TempDir(), "facility.yaml")
	if err := os.WriteFile(facFile, []byte(fac), 0o644); err != nil {
		t.Fatal(err)
	}
	d = startDev(t, "--facility", facFile, "--site", "s1", "--fake-gpus", "8")
	a = d.waitState(d.submit(map[string]any{"gpus": gpusA, "command": sh(untilFile("a.stop"))}).ID, api.StateRunning, 20*time.Second)
	b = d.waitState(d.submit(map[string]any{"gpus": 4, "command": sh(untilFile("b.stop"))}).ID, api.StateRunning, 20*time.Second)
	if ja := d.job(a.ID); ja.Replicas[0].PowerCapW != 0 {
		t.Fatalf("a started capped at %d W, want it at TDP", ja.Replicas[0].PowerCapW)
	}
	if w := b.Replicas[0].PowerCapW; w <= 0 || w >= 560 {
		t.Fatalf("b started with cap %d W, want it capped below the 560 W a busy fake H100 draws", w)
	}
	return d, a, b
}

// untilFile is a shell loop that waits for file name in its directory.
func untilFile(name string) string {
	return `while [ ! -e ` + name + ` ]; do sleep 0.05; done`
}

// touch creates file name in d.Work, ending a job that waits for it.
func (d *dev) touch(name string) {
	d.t.Helper()
	if err := os.WriteFile(filepath.Join(d.Work, name), nil, 0o644); err != nil {
		d.t.Fatal(err)
	}
}
