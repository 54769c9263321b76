package fleet

import (
	"fmt"
	"sync"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
	"github.com/carnot-dc/carnot/internal/model"
)

// fakeGPUs are one virtual node's GPUs, a gpu.Devices whose telemetry
// follows the work as internal/gpu's fake computes it: idle power when
// free; 80 % of TDP (at most the power limit), 80 % utilisation and 70 %
// of memory when a task holds the GPU. Unlike that fake (go-nvml's mock,
// which records every call) it is small enough for thousands of nodes,
// and its UUIDs are unique in the fleet.
type fakeGPUs struct {
	model model.GPUModel
	info  []api.GPUInfo

	mu     sync.Mutex
	busy   []bool
	limitW []int
}

var _ gpu.Busier = (*fakeGPUs)(nil)

// newFakeGPUs are the n GPUs of the fleet's node i.
func newFakeGPUs(node, n int, m model.GPUModel) *fakeGPUs {
	g := &fakeGPUs{model: m, info: make([]api.GPUInfo, n), busy: make([]bool, n), limitW: make([]int, n)}
	for i := range g.info {
		g.info[i] = api.GPUInfo{Index: i, UUID: fmt.Sprintf("GPU-fa4e%04x-%04x-4000-8000-%012d", i, node%0x10000, node),
			Model: m.Name, MemoryMiB: m.MemoryGiB << 10, PowerLimitW: m.TDPWatts}
		if m.CanCap() {
			g.info[i].MinCapW, g.info[i].MaxCapW = m.MinCapWatts, m.MaxCapWatts
		}
		g.limitW[i] = m.TDPWatts
	}
	return g
}

func (g *fakeGPUs) Info() []api.GPUInfo {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]api.GPUInfo, len(g.info))
	for i, in := range g.info {
		in.PowerLimitW = g.limitW[i]
		out[i] = in
	}
	return out
}

func (g *fakeGPUs) Sample(now time.Time) []api.GPUSample {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.model
	out := make([]api.GPUSample, len(g.busy))
	for i := range out {
		s := api.GPUSample{Index: i, Time: now, PowerW: float64(m.IdleWatts)}
		if g.busy[i] {
			s.PowerW, s.Utilization = min(0.8*float64(m.TDPWatts), float64(g.limitW[i])), 80
			s.MemUsedMiB = float64(m.MemoryGiB<<10) * 0.7
		}
		if m.TDPWatts > 0 {
			s.TempC = 30 + 50*s.PowerW/float64(m.TDPWatts)
		}
		out[i] = s
	}
	return out
}

func (g *fakeGPUs) SetPowerLimit(index, watts int) error {
	m := g.model
	switch {
	case index < 0 || index >= len(g.info):
		return fmt.Errorf("fake GPU %d: %w: no such GPU", index, gpu.ErrPowerLimit)
	case !m.CanCap():
		return fmt.Errorf("fake GPU %d: %w: %s does not support capping", index, gpu.ErrPowerLimit, m.Name)
	case watts < m.MinCapWatts || watts > m.MaxCapWatts:
		return fmt.Errorf("fake GPU %d: %w: %d W is outside %d–%d W", index, gpu.ErrPowerLimit, watts, m.MinCapWatts, m.MaxCapWatts)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limitW[index] = watts
	return nil
}

// SetBusy marks GPU index busy or idle; an index out of range is
// ignored.
func (g *fakeGPUs) SetBusy(index int, busy bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if index >= 0 && index < len(g.busy) {
		g.busy[index] = busy
	}
}

func (g *fakeGPUs) Close() error { return nil }
