//go:build cgo

package gpu

import (
	"runtime"
	"testing"
	"time"
)

// The fake's library read through FromNVML directly, as a real one is.
func TestFakeThroughFromNVML(t *testing.T) {
	f := newFake(t, 1, "H200")
	d, err := FromNVML(f.library())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := d.Info()[0]; got.Model != "H200" || got.MemoryMiB != 141*1024 || got.MaxCapW != 700 {
		t.Errorf("Info = %+v, want an H200 with 141 GiB and a 700 W cap", got)
	}
}

// A fake read for as long as an agent runs (carnot dev, carnot agent
// --fake-gpus: eight GPUs sampled every heartbeat, for weeks) holds no
// more memory the more it is read: go-nvml's mock records every call
// made to it, and the fake must not let it record the readings.
func TestFakeReadingsHoldNoMemory(t *testing.T) {
	f := newFake(t, 8, "H100")
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	now := time.Now()
	f.Sample(now) // whatever a first reading sets up
	before := heap()
	const n = 50_000 // about 14 hours of heartbeats at 1 s
	for range n {
		f.Sample(now)
		if err := f.SetPowerLimit(0, 500); err != nil {
			t.Fatal(err)
		}
	}
	after := heap()
	if after > before && after-before > 256<<10 {
		t.Errorf("%d readings of 8 fake GPUs left the heap %d KiB larger; want it not to grow with the readings",
			n, (after-before)>>10)
	}
}
