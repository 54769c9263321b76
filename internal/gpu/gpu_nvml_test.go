//go:build cgo

package gpu

import "testing"

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
