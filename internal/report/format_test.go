package report

import (
	"math"
	"testing"
)

// A table value that rounds to zero reads 0, not -0.
func TestValueNoNegativeZero(t *testing.T) {
	for v, want := range map[float64]string{-0.0004: "0", -0.0005: "-0.001", 0.0004: "0", -1.2344: "-1.234", math.Copysign(0, -1): "0"} {
		if got := value(v); got != want {
			t.Errorf("value(%g) = %q, want %q", v, got, want)
		}
	}
}
