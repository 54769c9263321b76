//go:build cgo

package gpu

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/carnot-dc/carnot/internal/api"
)

// nvmlDevices is Devices over an nvml.Interface: the real library or the
// fake's mock.
type nvmlDevices struct {
	lib  nvml.Interface
	devs []nvml.Device

	mu   sync.Mutex
	info []api.GPUInfo // PowerLimitW follows SetPowerLimit
}

// FromNVML initialises lib and reads its devices. Pass nvml.New() for the
// real library; without one (no driver) the error wraps ErrNoNVML. The
// caller closes the Devices, which shuts lib down.
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
	d := &nvmlDevices{lib: lib}
	for i := range n {
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return nil, deviceError("handle", i, ret)
		}
		info, err := readInfo(i, dev)
		if err != nil {
			return nil, err
		}
		d.devs = append(d.devs, dev)
		d.info = append(d.info, info)
	}
	return d, nil
}

// deviceError is a failed read of device i's what as the agent starts,
// with what an operator does about a GPU lost or in need of a reset:
// the agent reads every GPU before it starts.
func deviceError(what string, i int, ret nvml.Return) error {
	hint := ""
	switch ret {
	case nvml.ERROR_GPU_IS_LOST:
		hint = " (the GPU has fallen off the bus: see nvidia-smi and the kernel log's Xid errors; reset or repair it, then start the agent again)"
	case nvml.ERROR_RESET_REQUIRED:
		hint = " (the GPU needs a reset: see the kernel log's Xid errors; reset it (nvidia-smi -r, or reboot), then start the agent again)"
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

// Sample implements Devices. A GPU whose power reading fails (lost,
// fallen off the bus) is left out: its figures, all 0, would show an
// idle GPU drawing nothing. One without a power sensor reports 0 W; any
// other figure the device fails to report is 0.
func (d *nvmlDevices) Sample(now time.Time) []api.GPUSample {
	out := make([]api.GPUSample, 0, len(d.devs))
	for i, dev := range d.devs {
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
	out := make([]int, len(d.devs))
	for i, dev := range d.devs {
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
