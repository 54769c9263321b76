package gpu

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/facility"
)

func newFake(t *testing.T, n int, model string) *Fake {
	t.Helper()
	f, err := NewFake(n, model, "n1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFakeInfoIsCatalog(t *testing.T) {
	for name, m := range facility.Catalog() {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, 2, name)
			got := f.Info()
			if len(got) != 2 {
				t.Fatalf("got %d GPUs, want 2", len(got))
			}
			g := got[1]
			minW, maxW := m.MinCapWatts, m.MaxCapWatts
			if !m.CanCap() {
				minW, maxW = 0, 0
			}
			want := api.GPUInfo{Index: 1, UUID: g.UUID, Model: name, MemoryMiB: m.MemoryGiB * 1024,
				PowerLimitW: m.TDPWatts, MinCapW: minW, MaxCapW: maxW}
			if diff := cmp.Diff(want, g); diff != "" {
				t.Errorf("Info()[1] (-want +got):\n%s", diff)
			}
			if got[0].UUID == got[1].UUID || !strings.HasPrefix(g.UUID, "GPU-") {
				t.Errorf("UUIDs %q, %q: want distinct GPU-… ids", got[0].UUID, got[1].UUID)
			}
		})
	}
}

func TestFakeBusyIdle(t *testing.T) {
	f := newFake(t, 2, "H100") // TDP 700, idle 72, 80 GiB
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.SetBusy(1, true)
	got := f.Sample(now)
	want := []api.GPUSample{
		{Index: 0, Time: now, PowerW: 72, Utilization: 0, MemUsedMiB: 0, TempC: 35},
		{Index: 1, Time: now, PowerW: 560, Utilization: 80, MemUsedMiB: 80 * 1024 * 0.7, TempC: 70},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sample (-want +got):\n%s", diff)
	}

	// A limit below 80 % of TDP caps the busy draw.
	if err := f.SetPowerLimit(1, 300); err != nil {
		t.Fatal(err)
	}
	if p := f.Sample(now)[1].PowerW; p != 300 {
		t.Errorf("busy power under a 300 W limit = %v, want 300", p)
	}
	f.SetBusy(1, false)
	if p := f.Sample(now)[1].PowerW; p != 72 {
		t.Errorf("idle power = %v, want 72", p)
	}
	f.SetBusy(7, true) // out of range: ignored
}

func TestSetPowerLimit(t *testing.T) {
	f := newFake(t, 1, "H100") // 200–700 W
	if err := f.SetPowerLimit(0, 450); err != nil {
		t.Fatalf("SetPowerLimit(0, 450) = %v", err)
	}
	if got := f.Info()[0].PowerLimitW; got != 450 {
		t.Errorf("PowerLimitW = %d after setting 450", got)
	}
	for _, c := range []struct{ index, watts int }{{0, 50}, {0, 701}, {1, 400}, {-1, 400}} {
		err := f.SetPowerLimit(c.index, c.watts)
		if !errors.Is(err, ErrPowerLimit) {
			t.Errorf("SetPowerLimit(%d, %d) = %v, want ErrPowerLimit", c.index, c.watts, err)
		}
	}
	if got := f.Info()[0].PowerLimitW; got != 450 {
		t.Errorf("PowerLimitW = %d after refused limits, want 450", got)
	}

	amd := newFake(t, 1, "MI300X") // capping not supported
	if err := amd.SetPowerLimit(0, 500); !errors.Is(err, ErrPowerLimit) {
		t.Errorf("MI300X SetPowerLimit = %v, want ErrPowerLimit", err)
	}
}

func TestNewFakeUnknownModel(t *testing.T) {
	_, err := NewFake(2, "H900", "n1")
	if err == nil || !strings.Contains(err.Error(), "H100, H200") {
		t.Fatalf("NewFake(H900) = %v, want an error listing the known models", err)
	}
}

func TestFakeConcurrent(t *testing.T) {
	f := newFake(t, 4, "B200")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				f.SetBusy(i, j%2 == 0)
				f.Sample(time.Time{})
				_ = f.SetPowerLimit(i, 300+j)
				f.Info()
			}
		})
	}
	wg.Wait()
}

// This machine has no NVIDIA driver: the real library must say so with
// ErrNoNVML, not panic. Where a driver is present, it must read devices.
func TestRealNVML(t *testing.T) {
	d, err := OpenNVML()
	if err != nil {
		if !errors.Is(err, ErrNoNVML) {
			t.Fatalf("OpenNVML() = %v, want ErrNoNVML", err)
		}
		t.Logf("no NVML here: %v", err)
		return
	}
	defer d.Close()
	t.Logf("NVML devices: %+v", d.Info())
	t.Logf("samples: %+v", d.Sample(time.Now()))
}

func TestModelName(t *testing.T) {
	for name, want := range map[string]string{
		"NVIDIA H100 80GB HBM3":   "H100",
		"NVIDIA H100 PCIe":        "H100",
		"NVIDIA A100-SXM4-80GB":   "A100",
		"NVIDIA H200":             "H200",
		"NVIDIA B200 180GB HBM3e": "B200",
		"NVIDIA GB200":            "GB200",
		"NVIDIA GB300":            "GB300",
		"AMD Instinct MI300X":     "MI300X",
		"NVIDIA A30-PCIE-24GB":    "",
		"NVIDIA GH200 480GB":      "",
		"":                        "",
	} {
		if got := ModelName(name); got != want {
			t.Errorf("ModelName(%q) = %q, want %q", name, got, want)
		}
	}
}
