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

// A label rounds up into the next suffix when its digits would: 1M, not
// 1000k; 10k, not 10000.
func TestNumRoundsIntoTheNextSuffix(t *testing.T) {
	for v, want := range map[float64]string{999_999: "1M", 9999.7: "10k", -999_999: "-1M", 999_999_999: "1G", 999.96: "1000", 99.96: "100", 9999: "9999"} {
		if got := Num(v); got != want {
			t.Errorf("Num(%g) = %q, want %q", v, got, want)
		}
	}
}
