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
