package gpu

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A GPU gone from NVML's device count (the driver removed it after it
// fell off the bus) moves the GPUs after it down one index in NVML's
// listing; the agent, the server and the tasks' placement name GPUs by
// index. The GPUs keep their identity by UUID: of 4 GPUs, GPU 1 removed
// is down, saying it is gone, and GPUs 2 and 3 are still themselves
// (their UUIDs, telemetry and power limits) at their own index, while
// the agent runs and after it restarts (Reopen, then Pin with the UUIDs
// it had); GPU 1 back is itself again.
func TestAGPUGoneFromTheCountLeavesTheOthersThemselves(t *testing.T) {
	f := newFake(t, 4, "H100")
	var uuids []string
	for _, g := range f.Info() {
		uuids = append(uuids, g.UUID)
	}
	f.SetBusy(3, true)
	check := func(when string) {
		t.Helper()
		down := f.Down()
		if len(down) != 1 || !strings.Contains(down[1], uuids[1]) || !strings.Contains(down[1], "gone") {
			t.Errorf("%s: Down = %v; want GPU 1 alone, gone, named by its UUID", when, down)
		}
		info := f.Info()
		if len(info) != 4 {
			t.Fatalf("%s: %d GPUs; want 4, GPU 1 down", when, len(info))
		}
		for _, i := range []int{0, 2, 3} {
			if info[i].Index != i || info[i].UUID != uuids[i] {
				t.Errorf("%s: Info()[%d] = %+v; want GPU %d of UUID %s", when, i, info[i], i, uuids[i])
			}
		}
		var idx []int
		watts := map[int]float64{}
		for _, s := range f.Sample(time.Now()) {
			idx = append(idx, s.Index)
			watts[s.Index] = s.PowerW
		}
		if !slices.Equal(idx, []int{0, 2, 3}) || watts[2] != 72 || watts[3] != 560 {
			t.Errorf("%s: sampled GPUs %v drawing %v W; want 0, 2 (idle, 72 W) and 3 (busy, 560 W)", when, idx, watts)
		}
		if err := f.SetPowerLimit(2, 500); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if l := f.PowerLimits(); l[2] != 500 || l[3] != 700 {
			t.Errorf("%s: power limits %v after GPU 2 was capped at 500 W; want GPU 2 at 500 W, GPU 3 at 700 W", when, l)
		}
		f.ResetLimit(2)
	}
	f.SetRemoved(1, true)
	check("GPU 1 removed")
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	f.Pin(uuids)
	check("GPU 1 removed, the library read anew")
	f.SetRemoved(1, false)
	if down := f.Down(); down != nil {
		t.Errorf("Down once GPU 1 is back = %v; want none", down)
	}
	for i, g := range f.Info() {
		if g.UUID != uuids[i] {
			t.Errorf("GPU 1 back: Info()[%d] has UUID %s; want %s", i, g.UUID, uuids[i])
		}
	}
}

// A GPU lost as the library was read (no handle, no UUID), read again at
// each heartbeat, is found among NVML's GPUs by what no other GPU of the
// node is, not by its index: once a GPU before it is gone, NVML's index
// of it is the next GPU's. Before, GPU 2 answering again took GPU 3's
// UUID and figures.
func TestALostGPUIsNotTakenForTheNextOneOnceAGPUIsGone(t *testing.T) {
	f, err := NewFake(4, "H100", "n1", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetRemoved(1, true)
	f.SetLost(2, false)
	down := f.Down()
	if len(down) != 1 || down[1] == "" {
		t.Errorf("Down = %v; want GPU 1 alone", down)
	}
	info := f.Info()
	for _, i := range []int{0, 2, 3} {
		if info[i].UUID != fakeUUID("n1", i) {
			t.Errorf("Info()[%d] has UUID %s; want GPU %d's, %s", i, info[i].UUID, i, fakeUUID("n1", i))
		}
	}
}

// A GPU gone from the count stays down, gone, at every reading: its
// reason does not flap between gone and lost.
func TestAGoneGPUStaysGone(t *testing.T) {
	f := newFake(t, 3, "H100")
	f.SetRemoved(0, true)
	for range 3 {
		if down := f.Down(); len(down) != 1 || !strings.Contains(down[0], "gone") {
			t.Fatalf("Down = %v; want GPU 0 alone, gone", down)
		}
	}
}
