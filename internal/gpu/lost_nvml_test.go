//go:build cgo

package gpu

import (
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

// A GPU whose power reading fails (fallen off the bus: NVML answers
// ERROR_GPU_IS_LOST) is left out of the sample rather than reported
// drawing 0 W, idle, with no memory used: a GPU the control plane would
// take for idle and healthy, and whose energy it would count as none.
// A GPU without a power sensor (ERROR_NOT_SUPPORTED) still reports its
// other figures.
func TestSampleLeavesOutAGPUWhosePowerReadingFails(t *testing.T) {
	f := newFake(t, 3, "H100")
	f.SetBusy(0, true)
	devs := make([]nvml.Device, 3)
	for i := range devs {
		dev := f.device(i)
		switch i {
		case 1:
			dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_GPU_IS_LOST }
		case 2:
			dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
		}
		devs[i] = quietDevice{dev}
	}
	lib := &mock.Interface{
		InitFunc:           func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:       func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc: func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			return devs[i], nvml.SUCCESS
		},
	}
	d, err := FromNVML(lib)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got := d.Sample(time.Now())
	var indexes []int
	for _, s := range got {
		indexes = append(indexes, s.Index)
	}
	if len(got) != 2 || got[0].Index != 0 || got[1].Index != 2 {
		t.Fatalf("sampled GPUs %v, want 0 and 2: GPU 1's power reading failed", indexes)
	}
	if got[0].PowerW <= 0 || got[1].TempC <= 0 {
		t.Errorf("samples %+v, want GPU 0 drawing power and GPU 2's temperature", got)
	}
}

// An agent that cannot read a GPU as it starts because the GPU is lost
// (fallen off the bus: ERROR_GPU_IS_LOST) says so in words an operator
// acts on: which GPU, what that means and where to look. Before, it read
// "gpu: name of device 1: GPU is lost" (and the agent did not start).
func TestALostGPUAtStartIsToldClearly(t *testing.T) {
	f := newFake(t, 2, "H100")
	devs := []nvml.Device{quietDevice{f.device(0)}, nil}
	lost := f.device(1)
	lost.GetNameFunc = func() (string, nvml.Return) { return "", nvml.ERROR_GPU_IS_LOST }
	devs[1] = quietDevice{lost}
	lib := &mock.Interface{
		InitFunc:                   func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:               func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) { return devs[i], nvml.SUCCESS },
	}
	_, err := FromNVML(lib)
	if err == nil {
		t.Fatal("FromNVML read a lost GPU")
	}
	for _, want := range []string{"device 1", "fallen off the bus", "Xid"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("FromNVML = %q, want it to say %q", err, want)
		}
	}
}
