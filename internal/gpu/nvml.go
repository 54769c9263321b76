//go:build cgo

package gpu

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/carnot-dc/carnot/internal/api"
)

// nvmlDevices is Devices over an nvml.Interface: the real library or the
// fake's mock.
type nvmlDevices struct {
	lib nvml.Interface

	mu   sync.Mutex
	devs []nvml.Device  // nil for a GPU whose handle could not be had
	info []api.GPUInfo  // PowerLimitW follows SetPowerLimit
	down map[int]string // the GPUs that cannot be used, with why
	read map[int]bool   // the GPUs whose info was read (not a stand-in)
}

// FromNVML initialises lib and reads its devices. Pass nvml.New() for the
// real library; without one (no driver) the error wraps ErrNoNVML. A GPU
// that cannot be read (lost, in need of a reset) is down (Devices.Down),
// not an error, unless every GPU is: a node runs on its healthy GPUs, as
// a device plugin reports one unhealthy and the others on. The caller
// closes the Devices, which shuts lib down.
func FromNVML(lib nvml.Interface) (Devices, error) {
	if ret := lib.Init(); ret != nvml.SUCCESS {
		hint := ""
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND {
			hint = ": libnvidia-ml.so not found (is the NVIDIA driver installed?)"
		}
		return nil, fmt.Errorf("gpu: %w (init: %v%s); use fake GPUs on a machine without them", ErrNoNVML, ret, hint)
	}
	d, err := readDevices(lib)
	if err != nil {
		lib.Shutdown()
		return nil, err
	}
	return d, nil
}

func readDevices(lib nvml.Interface) (*nvmlDevices, error) {
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("gpu: count devices: %w", ret)
	}
	d := &nvmlDevices{lib: lib, devs: make([]nvml.Device, n), info: make([]api.GPUInfo, n),
		down: map[int]string{}, read: map[int]bool{}}
	var first error
	for i := range n {
		d.info[i] = api.GPUInfo{Index: i}
		if err := d.readLocked(i); err != nil {
			d.down[i] = err.Error()
			first = cmp.Or(first, err)
		}
	}
	if n > 0 && len(d.down) == n {
		return nil, fmt.Errorf("%w (and every other GPU of the node: none to run on)", first)
	}
	d.standInsLocked()
	return d, nil
}

// readLocked reads GPU i, its handle first if it has none, into d's
// records. Caller holds mu (or owns d).
func (d *nvmlDevices) readLocked(i int) error {
	dev := d.devs[i]
	if dev == nil {
		h, ret := d.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return deviceError("handle", i, ret)
		}
		dev = h
	}
	info, err := readInfo(i, dev)
	if err != nil {
		return err
	}
	d.devs[i], d.info[i], d.read[i] = dev, info, true
	return nil
}

// standInsLocked gives each GPU never read the model, memory and cap
// range of a GPU that was: a node has one model. Caller holds mu.
func (d *nvmlDevices) standInsLocked() {
	for j := range d.info {
		if !d.read[j] {
			continue
		}
		like := d.info[j]
		for i := range d.info {
			if !d.read[i] {
				d.info[i] = api.GPUInfo{Index: i, Model: like.Model, MemoryMiB: like.MemoryMiB, MinCapW: like.MinCapW, MaxCapW: like.MaxCapW}
			}
		}
		return
	}
}

// deviceError is a failed read of device i's what, with what an
// operator does about a GPU lost or in need of a reset: the agent runs
// without it, reads it again at every heartbeat, and takes it back once
// it answers.
func deviceError(what string, i int, ret nvml.Return) error {
	hint := ""
	switch ret {
	case nvml.ERROR_GPU_IS_LOST:
		hint = lostHint
	case nvml.ERROR_RESET_REQUIRED:
		hint = " (the GPU needs a reset: see the kernel log's Xid errors; reset it (nvidia-smi -r, or reboot))"
	}
	return fmt.Errorf("gpu: %s of device %d: %w%s", what, i, ret, hint)
}

// readInfo reads one device's static description. Name, UUID and memory
// are required; the power figures are optional (0 when the device does
// not report them, as some do not support capping).
func readInfo(i int, dev nvml.Device) (api.GPUInfo, error) {
	name, ret := dev.GetName()
	if ret != nvml.SUCCESS {
		return api.GPUInfo{}, deviceError("name", i, ret)
	}
	uuid, ret := dev.GetUUID()
	if ret != nvml.SUCCESS {
		return api.GPUInfo{}, deviceError("UUID", i, ret)
	}
	mem, ret := dev.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return api.GPUInfo{}, deviceError("memory", i, ret)
	}
	info := api.GPUInfo{Index: i, UUID: uuid, Model: ModelName(name), MemoryMiB: int(mem.Total / mib)}
	if limit, ret := dev.GetPowerManagementLimit(); ret == nvml.SUCCESS {
		info.PowerLimitW = int(limit / 1000)
	}
	if lo, hi, ret := dev.GetPowerManagementLimitConstraints(); ret == nvml.SUCCESS {
		info.MinCapW, info.MaxCapW = int(lo/1000), int(hi/1000)
	}
	return info, nil
}

// Info implements Devices.
func (d *nvmlDevices) Info() []api.GPUInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.info)
}

// handles is each GPU's handle, nil for a GPU without one.
func (d *nvmlDevices) handles() []nvml.Device {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.devs)
}

// Down implements Devices. A GPU with a handle is down while its UUID
// cannot be read, or its power reading says it is lost or needs a reset
// (another failed reading, a driver busy for a moment, only leaves it
// out of the sample: a GPU down has work kept off it, and must not
// flap); one without (lost as it was first read) while its handle and
// description cannot be had.
func (d *nvmlDevices) Down() map[int]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, dev := range d.devs {
		var err error
		if dev == nil || !d.read[i] {
			err = d.readLocked(i)
		} else if _, ret := dev.GetUUID(); ret != nvml.SUCCESS {
			err = deviceError("UUID", i, ret)
		} else if _, ret := dev.GetPowerUsage(); ret == nvml.ERROR_GPU_IS_LOST || ret == nvml.ERROR_RESET_REQUIRED {
			err = deviceError("power", i, ret)
		}
		if err != nil {
			d.down[i] = err.Error()
		} else {
			delete(d.down, i)
		}
	}
	if len(d.down) == 0 {
		return nil
	}
	return maps.Clone(d.down)
}

// Sample implements Devices. A GPU whose power reading fails (lost,
// fallen off the bus) is left out: its figures, all 0, would show an
// idle GPU drawing nothing. One without a power sensor reports 0 W; any
// other figure the device fails to report is 0.
func (d *nvmlDevices) Sample(now time.Time) []api.GPUSample {
	devs := d.handles()
	out := make([]api.GPUSample, 0, len(devs))
	for i, dev := range devs {
		if dev == nil {
			continue
		}
		s := api.GPUSample{Index: i, Time: now}
		switch mw, ret := dev.GetPowerUsage(); ret {
		case nvml.SUCCESS:
			s.PowerW = float64(mw) / 1000
		case nvml.ERROR_NOT_SUPPORTED:
		default:
			continue
		}
		if u, ret := dev.GetUtilizationRates(); ret == nvml.SUCCESS {
			s.Utilization = float64(u.Gpu)
		}
		if m, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
			s.MemUsedMiB = float64(m.Used) / mib
		}
		if c, ret := dev.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
			s.TempC = float64(c)
		}
		out = append(out, s)
	}
	return out
}

// PowerLimits implements Devices.
func (d *nvmlDevices) PowerLimits() []int {
	devs := d.handles()
	out := make([]int, len(devs))
	for i, dev := range devs {
		if dev == nil {
			continue
		}
		if mw, ret := dev.GetPowerManagementLimit(); ret == nvml.SUCCESS {
			out[i] = int(mw / 1000)
		}
	}
	return out
}

// SetPowerLimit implements Devices.
func (d *nvmlDevices) SetPowerLimit(index, watts int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if index < 0 || index >= len(d.devs) {
		return fmt.Errorf("gpu: %w: no GPU %d (the node has %d)", ErrPowerLimit, index, len(d.devs))
	}
	if d.devs[index] == nil || !d.read[index] {
		return fmt.Errorf("gpu: %w: GPU %d is down: %s", ErrPowerLimit, index, d.down[index])
	}
	info := d.info[index]
	if info.MinCapW <= 0 || info.MaxCapW < info.MinCapW {
		return fmt.Errorf("gpu: %w: GPU %d (%s) does not support power capping", ErrPowerLimit, index, info.Model)
	}
	if watts < info.MinCapW || watts > info.MaxCapW {
		return fmt.Errorf("gpu: %w: %d W for GPU %d (%s) is outside %d–%d W",
			ErrPowerLimit, watts, index, info.Model, info.MinCapW, info.MaxCapW)
	}
	if ret := d.devs[index].SetPowerManagementLimit(uint32(watts * 1000)); ret != nvml.SUCCESS {
		hint := ""
		if ret == nvml.ERROR_NO_PERMISSION {
			hint = " (setting a power limit needs root)"
		}
		return fmt.Errorf("gpu: set power limit of GPU %d to %d W: %w%s", index, watts, ret, hint)
	}
	d.info[index].PowerLimitW = watts
	return nil
}

// Close implements Devices: it shuts the library down.
func (d *nvmlDevices) Close() error {
	if ret := d.lib.Shutdown(); ret != nvml.SUCCESS && !errors.Is(ret, nvml.ERROR_UNINITIALIZED) {
		return fmt.Errorf("gpu: shut NVML down: %w", ret)
	}
	return nil
}

// OpenNVML opens the machine's NVIDIA management library.
func OpenNVML() (Devices, error) { return FromNVML(nvml.New()) }
