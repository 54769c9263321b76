package gpu

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/facility"
)

// realUUID is the form of a GPU's UUID as NVML reports it and as CUDA
// takes it in CUDA_VISIBLE_DEVICES.
var realUUID = regexp.MustCompile(`^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// The fakes' UUIDs have the form of real ones, differ between the GPUs
// of a node and between nodes, and stay the same for the same node name
// (an agent restarted), whichever fake reads them.
func TestFakeUUIDs(t *testing.T) {
	m := facility.Catalog()["H100"]
	seen := map[string]string{}
	for _, node := range []string{"n1", "n2", "gpu-0001", "gpu-0010"} {
		for _, in := range NewFakeOf(8, m, node).Info() {
			if !realUUID.MatchString(in.UUID) {
				t.Errorf("node %s GPU %d: UUID %q is not of the form GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", node, in.Index, in.UUID)
			}
			if prev, dup := seen[in.UUID]; dup {
				t.Errorf("UUID %s is both %s's and node %s GPU %d's", in.UUID, prev, node, in.Index)
			}
			seen[in.UUID] = node
		}
	}
	a, b := NewFakeOf(2, m, "n1").Info(), newFake(t, 2, "H100").Info() // newFake: node n1, through NVML when cgo
	for i := range a {
		if a[i].UUID != b[i].UUID {
			t.Errorf("GPU %d of node n1: UUID %s from one fake, %s from another", i, a[i].UUID, b[i].UUID)
		}
	}
}

// TestNewFakeOf: the fleet's light fakes follow the work as the
// NVML-backed fake does, and refuse caps outside the model's range.
func TestNewFakeOf(t *testing.T) {
	m := facility.Catalog()["H100"]
	f := NewFakeOf(2, m, "n7")
	f.SetBusy(1, true)
	s := f.Sample(time.Unix(0, 0))
	if s[0].PowerW != float64(m.IdleWatts) || s[1].PowerW != 0.8*float64(m.TDPWatts) || s[1].Utilization != 80 {
		t.Fatalf("samples %+v: want idle then 80 %% of TDP", s)
	}
	if err := f.SetPowerLimit(0, m.MinCapWatts-1); !errors.Is(err, ErrPowerLimit) {
		t.Fatalf("cap below the range: %v", err)
	}
}
