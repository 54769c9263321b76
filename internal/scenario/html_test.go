package scenario

import "testing"

func TestCellTextAndDelta(t *testing.T) {
	for v, want := range map[float64]string{278784: "278\u2009784", -1234.4: "-1\u2009234", 100: "100", 25.04: "25.0", 0.8526: "0.853", 0: "0"} {
		if got := cellText(v); got != want {
			t.Errorf("cellText(%g) = %q, want %q", v, got, want)
		}
	}
	for _, tc := range []struct {
		v, base float64
		want    string
	}{{90, 100, "-10.0%"}, {110, 100, "+10.0%"}, {5, 5, "="}, {3, 0, "+3"}, {-3, -2, "-50.0%"},
		// a cost below a baseline of 0 (negative day-ahead prices) read "+-3"
		{-3, 0, "-3"}} {
		if got := delta(tc.v, tc.base); got != tc.want {
			t.Errorf("delta(%g, %g) = %q, want %q", tc.v, tc.base, got, tc.want)
		}
	}
}
