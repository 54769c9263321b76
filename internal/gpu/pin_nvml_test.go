//go:build cgo

package gpu

import "testing"

// FromNVML's Pin: a GPU replaced while the agent was stopped (a UUID
// it never had) takes the index of the one NVML no longer lists; a GPU
// added comes after the GPUs pinned.
func TestPinGivesANewGPUTheIndexOfTheOneGone(t *testing.T) {
	f := newFake(t, 3, "H100")
	u := func(i int) string { return fakeUUID("n1", i) }
	f.Pin([]string{u(0), "GPU-00000000-0000-0000-0000-000000000000", u(2)})
	if down := f.Down(); down != nil {
		t.Errorf("Down = %v; want none", down)
	}
	if got := f.Info(); len(got) != 3 || got[1].UUID != u(1) || got[2].UUID != u(2) {
		t.Errorf("Info = %+v; want GPU 1 the new one, GPU 2 itself", got)
	}
	f.Pin([]string{u(2), u(0)})
	if got := f.Info(); len(got) != 3 || got[0].UUID != u(2) || got[1].UUID != u(0) || got[2].UUID != u(1) {
		t.Errorf("Info = %+v; want the GPUs pinned at their index, the one added after them", got)
	}
}
