//go:build cgo

package gpu

import (
	"errors"
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

// A GPU lost as the library is first read (fallen off the bus: NVML
// answers ERROR_GPU_IS_LOST) is down, not the end of the node: the
// others are read and run, the lost one is told in words an operator
// acts on (which GPU, what that means, where to look), stands in with
// its siblings' model and no UUID, is never sampled nor capped, and is
// read anew once it answers again. Before, FromNVML failed ("gpu: name
// of device 1: GPU is lost") and the agent did not start.
func TestALostGPUAtStartIsDownNotFatal(t *testing.T) {
	f, err := NewFake(2, "H100", "n1", 1)
	if err != nil {
		t.Fatalf("NewFake with GPU 1 lost: %v", err)
	}
	defer f.Close()
	info := f.Info()
	if len(info) != 2 || info[0].UUID == "" || info[1].UUID != "" || info[1].Model != "H100" || info[1].MaxCapW != 700 {
		t.Fatalf("Info = %+v, want GPU 0 read and GPU 1 an H100 without UUID", info)
	}
	down := f.Down()
	if len(down) != 1 || down[1] == "" {
		t.Fatalf("Down = %v, want GPU 1 alone", down)
	}
	for _, want := range []string{"device 1", "fallen off the bus", "Xid"} {
		if !strings.Contains(down[1], want) {
			t.Errorf("Down()[1] = %q, want it to say %q", down[1], want)
		}
	}
	if s := f.Sample(time.Now()); len(s) != 1 || s[0].Index != 0 {
		t.Errorf("Sample = %+v, want GPU 0 alone", s)
	}
	if err := f.SetPowerLimit(1, 500); !errors.Is(err, ErrPowerLimit) {
		t.Errorf("SetPowerLimit on the lost GPU = %v, want ErrPowerLimit", err)
	}
	f.SetLost(1, false)
	if down := f.Down(); down != nil {
		t.Fatalf("Down after GPU 1 came back = %v, want none", down)
	}
	if info := f.Info(); info[1].UUID != fakeUUID("n1", 1) || info[1].PowerLimitW != 700 {
		t.Errorf("Info()[1] after it came back = %+v, want its UUID and limit read", info[1])
	}
	if s := f.Sample(time.Now()); len(s) != 2 {
		t.Errorf("Sample after GPU 1 came back = %+v, want both GPUs", s)
	}
	// A GPU healthy at start that is lost later is down until it answers.
	f.SetLost(0, true)
	if down := f.Down(); len(down) != 1 || !strings.Contains(down[0], "device 0") {
		t.Errorf("Down after GPU 0 was lost = %v, want GPU 0", down)
	}
	f.SetLost(0, false)
	if down := f.Down(); down != nil {
		t.Errorf("Down after GPU 0 came back = %v, want none", down)
	}
}

// A node whose every GPU is lost has nothing to run on, nor a model to
// register: that is still an error, which says so.
func TestEveryGPULostAtStartIsAnError(t *testing.T) {
	_, err := NewFake(2, "H100", "n1", 0, 1)
	if err == nil || !strings.Contains(err.Error(), "every other GPU") || !strings.Contains(err.Error(), "fallen off the bus") {
		t.Fatalf("NewFake with every GPU lost = %v, want an error naming the lost GPUs", err)
	}
}

// A power reading that fails with an error that does not say the GPU is
// gone (ERROR_UNKNOWN, ERROR_TIMEOUT: a driver busy for a moment) leaves
// the GPU out of that sample but not down: a GPU down has its node's
// work taken off it, with an event, and one reading that fails now and
// then would make it flap. A GPU lost or in need of a reset is down.
func TestAFailedPowerReadingIsNotAGPUDown(t *testing.T) {
	f := newFake(t, 3, "H100")
	devs := make([]nvml.Device, 3)
	for i := range devs {
		dev := f.device(i)
		switch i {
		case 1:
			dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
		case 2:
			dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_RESET_REQUIRED }
		}
		devs[i] = quietDevice{dev}
	}
	lib := &mock.Interface{
		InitFunc:                   func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:               func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) { return devs[i], nvml.SUCCESS },
	}
	d, err := FromNVML(lib)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	down := d.Down()
	if _, ok := down[1]; ok || len(down) != 1 || !strings.Contains(down[2], "reset") {
		t.Errorf("Down = %v; want GPU 2 alone (in need of a reset), not GPU 1 (a reading that failed)", down)
	}
}
