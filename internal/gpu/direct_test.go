package gpu

import (
	"errors"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/facility"
)

// TestNewFakeOf: the fleet's light fakes have UUIDs unique across nodes,
// follow the work as the NVML-backed fake does, and refuse caps outside
// the model's range.
func TestNewFakeOf(t *testing.T) {
	m := facility.Catalog()["H100"]
	seen := map[string]bool{}
	for node := 0; node < 3; node++ {
		for _, in := range NewFakeOf(8, m, node).Info() {
			if seen[in.UUID] {
				t.Fatalf("UUID %s appears twice", in.UUID)
			}
			seen[in.UUID] = true
		}
	}
	f := NewFakeOf(2, m, 7)
	f.SetBusy(1, true)
	s := f.Sample(time.Unix(0, 0))
	if s[0].PowerW != float64(m.IdleWatts) || s[1].PowerW != 0.8*float64(m.TDPWatts) || s[1].Utilization != 80 {
		t.Fatalf("samples %+v: want idle then 80 %% of TDP", s)
	}
	if err := f.SetPowerLimit(0, m.MinCapWatts-1); !errors.Is(err, ErrPowerLimit) {
		t.Fatalf("cap below the range: %v", err)
	}
}
