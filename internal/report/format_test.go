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

// A tiny number keeps its digits: ticks of a chart of values below
// 1e-6 (grams of carbon in tCO2e) all read "0".
func TestNumTiny(t *testing.T) {
	for v, want := range map[float64]string{5e-8: "5e-08", -1.25e-7: "-1.25e-07", 0.000012: "0.000012", 1e-6: "0.000001"} {
		if got := Num(v); got != want {
			t.Errorf("Num(%g) = %q, want %q", v, got, want)
		}
	}
	_, _, ticks := niceRange(0, 3e-7, 5)
	seen := map[string]bool{}
	for _, tk := range ticks {
		if seen[Num(tk)] {
			t.Errorf("ticks %v read %q twice", ticks, Num(tk))
		}
		seen[Num(tk)] = true
	}
}
