//go:build !cgo

package gpu

import (
	"fmt"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// OpenNVML fails in a build without cgo: go-nvml loads the library
// through cgo. Fake GPUs work.
func OpenNVML() (Devices, error) {
	return nil, fmt.Errorf("gpu: %w: this carnot was built without cgo (CGO_ENABLED=0); use fake GPUs or a cgo build", ErrNoNVML)
}

// open gives the fake's figures directly, without go-nvml.
func (f *Fake) open() (Devices, error) { return directFake{f}, nil }

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
		out[i] = api.GPUInfo{Index: i, UUID: fmt.Sprintf("GPU-fa4e0000-0000-4000-8000-%012d", i), Model: m.Name,
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
