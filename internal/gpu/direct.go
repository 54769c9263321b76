package gpu

import (
	"fmt"
	"sync"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// NewFakeOf returns n fake GPUs of model m for the node named node (their
// UUIDs derive from it, as NewFake's do) that read their figures
// directly, without go-nvml's mock (which records every call: too heavy
// for the thousands of nodes of a fake fleet).
func NewFakeOf(n int, m model.GPUModel, node string) *Fake {
	f := idleFake(n, m, node)
	f.Devices = newDirect(f)
	return f
}

// directFake is Devices over a Fake's readings, with the units and
// rounding FromNVML applies to NVML's. Its GPUs keep their index when
// one is removed (SetRemoved), as FromNVML's keep theirs by UUID.
// As FromNVML, a GPU lost when the Devices are opened has no UUID nor
// power limit until Down finds it answering again.
type directFake struct {
	f    *Fake
	mu   sync.Mutex
	read []bool // GPU i was read: it answered at the open or since
}

// newDirect opens f's GPUs directly.
func newDirect(f *Fake) *directFake {
	d := &directFake{f: f, read: make([]bool, len(f.gpus))}
	for i := range d.read {
		d.read[i] = !f.isLost(i)
	}
	return d
}

func (d *directFake) Info() []api.GPUInfo {
	f, m := d.f, d.f.model
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]api.GPUInfo, len(f.gpus))
	for i := range out {
		f.mu.Lock()
		limit := f.gpus[i].limitW
		f.mu.Unlock()
		out[i] = api.GPUInfo{Index: i, Model: m.Name, MemoryMiB: m.MemoryGiB << 10}
		if d.read[i] {
			out[i].UUID, out[i].PowerLimitW = f.uuids[i], limit
		}
		if m.CanCap() {
			out[i].MinCapW, out[i].MaxCapW = m.MinCapWatts, m.MaxCapWatts
		}
	}
	return out
}

func (d *directFake) Sample(now time.Time) []api.GPUSample {
	out := make([]api.GPUSample, 0, len(d.f.gpus))
	for i := range d.f.gpus {
		if d.f.isLost(i) { // left out, as FromNVML leaves out a GPU whose power it cannot read
			continue
		}
		r := d.f.read(i)
		out = append(out, api.GPUSample{Index: i, Time: now, PowerW: float64(r.powerMW) / 1000, Utilization: float64(r.util),
			MemUsedMiB: float64(r.usedBytes) / mib, TempC: float64(r.tempC)})
	}
	return out
}

func (d *directFake) Down() map[int]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var down map[int]string
	for i := range d.f.gpus {
		if !d.f.isLost(i) {
			d.read[i] = true // answering again: read anew, as FromNVML does
			continue
		}
		if down == nil {
			down = map[int]string{}
		}
		if d.f.isRemoved(i) {
			down[i] = goneReason(i, d.f.uuids[i], len(d.f.listed())) + " (fake)"
			continue
		}
		down[i] = fmt.Sprintf("gpu: UUID of device %d: GPU is lost (fake)%s", i, lostHint)
	}
	return down
}

func (d *directFake) SetPowerLimit(index, watts int) error {
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
	defer f.mu.Unlock()
	if f.gpus[index].lost {
		return fmt.Errorf("gpu: GPU %d: %w: the GPU is lost", index, ErrPowerLimit)
	}
	f.gpus[index].limitW = watts
	return nil
}

func (d *directFake) PowerLimits() []int {
	f := d.f
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]int, len(f.gpus))
	for i := range out {
		if !f.gpus[i].lost {
			out[i] = f.gpus[i].limitW
		}
	}
	return out
}

func (*directFake) Close() error { return nil }
