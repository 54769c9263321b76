package scenario

import "testing"

// TestCellTextRoundsIntoTheNextRange: a value whose digits round up to
// the next range is shown as that range shows it (three significant
// digits, whole numbers from 100): 9.999 read "10.00", 99.96 "100.0"
// and 0.99996 "1.000".
func TestCellTextRoundsIntoTheNextRange(t *testing.T) {
	for v, want := range map[float64]string{9.999: "10.0", 99.96: "100", 0.99996: "1.00", -9.9996: "-10.0", -99.97: "-100",
		9.994: "9.99", 99.94: "99.9", 0.9994: "0.999"} {
		if got := cellText(v, false); got != want {
			t.Errorf("cellText(%g) = %q, want %q", v, got, want)
		}
	}
}

// TestCellTextTiny: a value below 1e-6 read "0.000000", or "-0.000000"
// when negative (a few grams of carbon in tCO2e, a fraction of a cent):
// it keeps three significant digits.
func TestCellTextTiny(t *testing.T) {
	for v, want := range map[float64]string{4e-7: "4.00e-07", -1.234e-8: "-1.23e-08", 0.0000123: "0.000012", 1e-6: "0.000001"} {
		if got := cellText(v, false); got != want {
			t.Errorf("cellText(%g) = %q, want %q", v, got, want)
		}
	}
}
