package gpu

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/carnot-dc/carnot/internal/facility"
	"github.com/carnot-dc/carnot/internal/model"
)

// Fake is a set of identical fake GPUs of one catalog model: a fake NVML
// library (go-nvml's mock) read through FromNVML, or, in a build without
// cgo (go-nvml needs it), the same figures read directly. Its UUIDs have
// the form of real ones and derive from the node's name (fakeUUID). Its
// telemetry is deterministic:
//
//   - idle: the model's IdleWatts, 0 % utilisation, 0 MiB used;
//   - busy (SetBusy): 80 % of TDP capped at the power limit, 80 %
//     utilisation, 70 % of memory used;
//   - temperature 30 °C + 50 °C × power / TDP.
//
// The power limit starts at the TDP and may be set within the model's cap
// range. A GPU may be lost (SetLost: fallen off the bus, NVML answers
// ERROR_GPU_IS_LOST for it, its handle included) and come back, or be
// gone from NVML's device count (SetRemoved: the GPUs after it move
// down one index in NVML's listing). Reopen reads the library anew, as
// an agent that restarts does. A Fake is safe for concurrent use.
type Fake struct {
	Devices // FromNVML over the fake library

	model model.GPUModel
	uuids []string // by index: fakeUUID of the node's name
	mu    sync.Mutex
	gpus  []fakeGPU
}

type fakeGPU struct {
	busy    bool
	lost    bool
	removed bool // gone from NVML's count (SetRemoved)
	limitW  int
}

// NewFake returns n fake GPUs of the catalog model (H100, H200, …) for
// the node named node, which their UUIDs derive from (see fakeUUID);
// the GPUs of index lost are lost as the library is read (SetLost). An
// unknown model is an error that lists the known ones.
func NewFake(n int, modelName, node string, lost ...int) (*Fake, error) {
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
	f := idleFake(n, m, node)
	for _, i := range lost {
		f.SetLost(i, true)
	}
	d, err := f.open()
	if err != nil {
		return nil, fmt.Errorf("gpu: fake NVML: %w", err)
	}
	f.Devices = d
	return f, nil
}

// idleFake is n idle fake GPUs of model m, at their TDP, for the node
// named node; its Devices are still to be set.
func idleFake(n int, m model.GPUModel, node string) *Fake {
	f := &Fake{model: m, gpus: make([]fakeGPU, max(0, n)), uuids: make([]string, max(0, n))}
	for i := range f.gpus {
		f.gpus[i].limitW = m.TDPWatts
		f.uuids[i] = fakeUUID(node, i)
	}
	return f
}

// fakeUUID is the UUID of fake GPU i of the node named node, in the form
// NVML gives a real GPU's ("GPU-" and 16 bytes as 8-4-4-4-12 hex digits):
// the first bytes of SHA-256 of the name and the index. A fake GPU keeps
// its UUID across restarts of its agent, and differs from the node's
// other GPUs and, but for a hash collision, from every other node's.
func fakeUUID(node string, i int) string {
	h := sha256.Sum256([]byte(node + "/" + strconv.Itoa(i)))
	return fmt.Sprintf("GPU-%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
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

// SetLost makes GPU index lost (fallen off the bus: every NVML call
// about it fails with ERROR_GPU_IS_LOST) or back. A GPU back has the
// limit it had. An index out of range is ignored.
func (f *Fake) SetLost(index int, lost bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if index >= 0 && index < len(f.gpus) {
		f.gpus[index].lost = lost
	}
}

// SetRemoved takes GPU index out of NVML's device count, as the driver
// does with a GPU that fell off the bus for good (or a PCI remove), or
// puts it back: NVML lists the others, those after it one index lower,
// and a handle to it had before answers ERROR_GPU_IS_LOST. An index out
// of range is ignored.
func (f *Fake) SetRemoved(index int, removed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if index >= 0 && index < len(f.gpus) {
		f.gpus[index].removed = removed
	}
}

// Reopen reads the fake library anew, as an agent that restarts does
// (NVML lists the GPUs as they are then); the Devices read before are
// closed.
func (f *Fake) Reopen() error {
	d, err := f.open()
	if err != nil {
		return fmt.Errorf("gpu: fake NVML: %w", err)
	}
	f.Devices.Close()
	f.Devices = d
	return nil
}

// isLost reports whether GPU i cannot be read: lost (SetLost) or gone
// (SetRemoved).
func (f *Fake) isLost(i int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gpus[i].lost || f.gpus[i].removed
}

// isRemoved reports whether GPU i is gone from NVML's count
// (SetRemoved).
func (f *Fake) isRemoved(i int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gpus[i].removed
}

// listed is the index of each GPU NVML lists: the GPUs not removed
// (SetRemoved), in index order.
func (f *Fake) listed() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for i, g := range f.gpus {
		if !g.removed {
			out = append(out, i)
		}
	}
	return out
}

// ResetLimit puts GPU index's power limit back to its default, the
// TDP, as a GPU reset does behind the agent's back. An index out of
// range is ignored.
func (f *Fake) ResetLimit(index int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if index >= 0 && index < len(f.gpus) {
		f.gpus[index].limitW = f.model.TDPWatts
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

// Pin gives the GPUs the indices of the UUIDs a previous reading (an
// agent before a restart) gave them (Pinner), when the library read
// supports it.
func (f *Fake) Pin(uuids []string) {
	if p, ok := f.Devices.(Pinner); ok {
		p.Pin(uuids)
	}
}
