package gpu

import (
	"fmt"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// NewFakeOf returns n fake GPUs of model m that read their figures
// directly, without go-nvml's mock (which records every call: too heavy
// for the thousands of nodes of a fake fleet). node, when above zero,
// goes into the UUIDs so that they are unique across a fleet's nodes.
func NewFakeOf(n int, m model.GPUModel, node int) *Fake {
	f := &Fake{model: m, gpus: make([]fakeGPU, max(0, n)), node: node}
	for i := range f.gpus {
		f.gpus[i].limitW = m.TDPWatts
	}
	f.Devices = directFake{f}
	return f
}

// uuid is GPU i's UUID.
func (f *Fake) uuid(i int) string {
	if f.node > 0 {
		return fmt.Sprintf("GPU-fa4e%04x-%04x-4000-8000-%012d", i, f.node%0x10000, f.node)
	}
	return fmt.Sprintf("GPU-fa4e0000-0000-4000-8000-%012d", i)
}

// directFake is Devices over a Fake's readings, with the units and
// rounding FromNVML applies to NVML's.
type directFake struct{ f *Fake }

func (d directFake) Info() []api.GPUInfo {
	f, m := d.f, d.f.model
	out := make([]api.GPUInfo, len(f.gpus))
	for i := range out {
		f.mu.Lock()
		limit := f.gpus[i].limitW
		f.mu.Unlock()
		out[i] = api.GPUInfo{Index: i, UUID: f.uuid(i), Model: m.Name,
			MemoryMiB: m.MemoryGiB << 10, PowerLimitW: limit}
		if m.CanCap() {
			out[i].MinCapW, out[i].MaxCapW = m.MinCapWatts, m.MaxCapWatts
		}
	}
	return out
}

func (d directFake) Sample(now time.Time) []api.GPUSample {
	out := make([]api.GPUSample, len(d.f.gpus))
	for i := range out {
		r := d.f.read(i)
		out[i] = api.GPUSample{Index: i, Time: now, PowerW: float64(r.powerMW) / 1000, Utilization: float64(r.util),
			MemUsedMiB: float64(r.usedBytes) / mib, TempC: float64(r.tempC)}
	}
	return out
}

func (d directFake) SetPowerLimit(index, watts int) error {
	f, m := d.f, d.f.model
	switch {
	case index < 0 || index >= len(f.gpus):
		return fmt.Errorf("gpu: GPU %d: %w: no such GPU", index, ErrPowerLimit)
	case !m.CanCap():
		return fmt.Errorf("gpu: GPU %d: %w: %s does not support capping", index, ErrPowerLimit, m.Name)
	case watts < m.MinCapWatts || watts > m.MaxCapWatts:
		return fmt.Errorf("gpu: GPU %d: %w: %d W is outside %d–%d W", index, ErrPowerLimit, watts, m.MinCapWatts, m.MaxCapWatts)
	}
	f.mu.Lock()
	f.gpus[index].limitW = watts
	f.mu.Unlock()
	return nil
}

func (directFake) Close() error { return nil }
