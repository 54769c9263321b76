package gpu

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
)

// Fake is a set of identical fake GPUs of one catalog model: a fake NVML
// library (go-nvml's mock) read through FromNVML, or, in a build without
// cgo (go-nvml needs it), the same figures read directly. Its telemetry is
// deterministic:
//
//   - idle: the model's IdleWatts, 0 % utilisation, 0 MiB used;
//   - busy (SetBusy): 80 % of TDP capped at the power limit, 80 %
//     utilisation, 70 % of memory used;
//   - temperature 30 °C + 50 °C × power / TDP.
//
// The power limit starts at the TDP and may be set within the model's cap
// range. A Fake is safe for concurrent use.
type Fake struct {
	Devices // FromNVML over the fake library

	model model.GPUModel
	node  int // in UUIDs, when above zero (NewFakeOf)
	mu    sync.Mutex
	gpus  []fakeGPU
}

type fakeGPU struct {
	busy   bool
	limitW int
}

// NewFake returns n fake GPUs of the catalog model (H100, H200, …). An
// unknown model is an error that lists the known ones.
func NewFake(n int, modelName string) (*Fake, error) {
	cat := facility.Catalog()
	m, ok := cat[modelName]
	if !ok {
		known := make([]string, 0, len(cat))
		for name := range cat {
			known = append(known, name)
		}
		slices.Sort(known)
		return nil, fmt.Errorf("gpu: unknown GPU model %q for fake GPUs; known models: %s", modelName, strings.Join(known, ", "))
	}
	if n < 0 {
		return nil, fmt.Errorf("gpu: %d fake GPUs: the count must not be negative", n)
	}
	f := &Fake{model: m, gpus: make([]fakeGPU, n)}
	for i := range f.gpus {
		f.gpus[i].limitW = m.TDPWatts
	}
	d, err := f.open()
	if err != nil {
		return nil, fmt.Errorf("gpu: fake NVML: %w", err)
	}
	f.Devices = d
	return f, nil
}

// SetBusy marks GPU index busy (a task holds it) or idle. An index out of
// range is ignored.
func (f *Fake) SetBusy(index int, busy bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if index >= 0 && index < len(f.gpus) {
		f.gpus[index].busy = busy
	}
}

// reading is one fake GPU's telemetry, computed from its state.
type reading struct {
	powerMW, util, tempC uint32
	usedBytes            uint64
}

func (f *Fake) read(i int) reading {
	f.mu.Lock()
	g := f.gpus[i]
	f.mu.Unlock()
	m := f.model
	r := reading{powerMW: uint32(m.IdleWatts * 1000)}
	if g.busy {
		r.powerMW = uint32(min(m.TDPWatts*800, g.limitW*1000))
		r.util = 80
		r.usedBytes = uint64(m.MemoryGiB) << 30 * 7 / 10
	}
	if m.TDPWatts > 0 {
		r.tempC = uint32(30 + 50*int(r.powerMW)/(m.TDPWatts*1000))
	}
	return r
}
