//go:build cgo

package gpu

import (
	"slices"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

// open reads the fake library through FromNVML, as a real one is read.
func (f *Fake) open() (Devices, error) { return FromNVML(f.library()) }

// library is the fake nvml.Interface. A lost GPU (SetLost) has no
// handle, and each call about it fails, with ERROR_GPU_IS_LOST. A GPU
// removed (SetRemoved) is not counted: NVML's index j is the j-th GPU
// not removed.
func (f *Fake) library() nvml.Interface {
	devs := make([]nvml.Device, len(f.gpus))
	for i := range devs {
		devs[i] = quietDevice{f.device(i)}
	}
	return &mock.Interface{
		InitFunc:           func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:       func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc: func() (int, nvml.Return) { return len(f.listed()), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(j int) (nvml.Device, nvml.Return) {
			listed := f.listed()
			if j < 0 || j >= len(listed) {
				return nil, nvml.ERROR_INVALID_ARGUMENT
			}
			i := listed[j]
			if f.isLost(i) {
				return nil, nvml.ERROR_GPU_IS_LOST
			}
			return devs[i], nvml.SUCCESS
		},
	}
}

// device is fake GPU i as an NVML device.
func (f *Fake) device(i int) *mock.Device {
	m := f.model
	total := uint64(m.MemoryGiB) << 30
	lost := nvml.ERROR_GPU_IS_LOST
	return &mock.Device{
		GetIndexFunc: func() (int, nvml.Return) {
			if j := slices.Index(f.listed(), i); j >= 0 {
				return j, nvml.SUCCESS
			}
			return 0, lost
		},
		GetNameFunc: func() (string, nvml.Return) {
			if f.isLost(i) {
				return "", lost
			}
			return deviceName(m.Name, m.Vendor), nvml.SUCCESS
		},
		GetUUIDFunc: func() (string, nvml.Return) {
			if f.isLost(i) {
				return "", lost
			}
			return f.uuids[i], nvml.SUCCESS
		},
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			if f.isLost(i) {
				return nvml.Memory{}, lost
			}
			used := f.read(i).usedBytes
			return nvml.Memory{Total: total, Used: used, Free: total - used}, nvml.SUCCESS
		},
		GetPowerUsageFunc: func() (uint32, nvml.Return) {
			if f.isLost(i) {
				return 0, lost
			}
			return f.read(i).powerMW, nvml.SUCCESS
		},
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) {
			if f.isLost(i) {
				return nvml.Utilization{}, lost
			}
			r := f.read(i)
			return nvml.Utilization{Gpu: r.util, Memory: r.util / 2}, nvml.SUCCESS
		},
		GetTemperatureFunc: func(nvml.TemperatureSensors) (uint32, nvml.Return) {
			if f.isLost(i) {
				return 0, lost
			}
			return f.read(i).tempC, nvml.SUCCESS
		},
		GetPowerManagementLimitFunc: func() (uint32, nvml.Return) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.gpus[i].lost {
				return 0, lost
			}
			return uint32(f.gpus[i].limitW * 1000), nvml.SUCCESS
		},
		GetPowerManagementLimitConstraintsFunc: func() (uint32, uint32, nvml.Return) {
			switch {
			case f.isLost(i):
				return 0, 0, lost
			case !m.CanCap():
				return 0, 0, nvml.ERROR_NOT_SUPPORTED
			}
			return uint32(m.MinCapWatts * 1000), uint32(m.MaxCapWatts * 1000), nvml.SUCCESS
		},
		SetPowerManagementLimitFunc: func(mw uint32) nvml.Return {
			if !m.CanCap() {
				return nvml.ERROR_NOT_SUPPORTED
			}
			if int(mw) < m.MinCapWatts*1000 || int(mw) > m.MaxCapWatts*1000 {
				return nvml.ERROR_INVALID_ARGUMENT
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.gpus[i].lost {
				return lost
			}
			f.gpus[i].limitW = int(mw / 1000)
			return nvml.SUCCESS
		},
	}
}

// quietDevice is a mock device that keeps no record of the calls made
// with arguments: go-nvml's mock appends each call to a list it never
// trims (a call without arguments is recorded in no memory), and a fake
// agent reads and caps its GPUs for as long as it runs.
type quietDevice struct{ *mock.Device }

func (d quietDevice) GetTemperature(s nvml.TemperatureSensors) (uint32, nvml.Return) {
	return d.GetTemperatureFunc(s)
}

func (d quietDevice) SetPowerManagementLimit(mw uint32) nvml.Return {
	return d.SetPowerManagementLimitFunc(mw)
}
