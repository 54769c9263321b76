package agent

import (
	"math"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
)

// glitchy is a device set whose GPU 0 reads an impossible power, as a
// driver may on a failing sensor.
type glitchy struct {
	gpu.Devices
	watts float64
}

func (g glitchy) Sample(now time.Time) []api.GPUSample {
	s := g.Devices.Sample(now)
	s[0].PowerW = g.watts
	return s
}

// A GPU reading that is no measurement is left out of the heartbeat,
// the other GPUs' samples kept: sent, the server refuses the whole
// heartbeat, task reports included, and the node goes not ready.
func TestImplausiblePowerReadingLeftOut(t *testing.T) {
	for _, w := range []float64{math.NaN(), -5, 4294967.295, math.Inf(1)} {
		srv := newFakeServer()
		startAgent(t, srv, func(c *Config) { c.Devices = glitchy{c.Devices, w} })
		eventually(t, 2*time.Second, func() bool { return len(srv.heartbeats()) > 1 }, "heartbeats")
		hb := srv.heartbeats()[len(srv.heartbeats())-1]
		if len(hb.GPUs) != 1 || hb.GPUs[0].Index != 1 {
			t.Errorf("reading %v W on GPU 0: the heartbeat's samples %+v; want GPU 1's alone", w, hb.GPUs)
		}
	}
	kept := plausible([]api.GPUSample{{Index: 0, PowerW: 1400}}, []api.GPUInfo{{MaxCapW: 700, PowerLimitW: 700}}, func(api.GPUSample, float64) {
		t.Error("a reading at twice the highest cap was left out")
	})
	if len(kept) != 1 {
		t.Errorf("kept %+v", kept)
	}
}
