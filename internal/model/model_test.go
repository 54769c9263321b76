package model

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestTimeAddSaturates(t *testing.T) {
	if got := Time(10).Add(5); got != 15 {
		t.Errorf("10+5 = %d", got)
	}
	for _, tc := range []struct {
		t Time
		d Duration
	}{{Forever, 1}, {1, Duration(Forever)}, {Forever - 1, 10}} {
		if got := tc.t.Add(tc.d); got != Forever {
			t.Errorf("%d + %d = %d, want Forever", tc.t, tc.d, got)
		}
	}
	if Time(0).String() != "-" || Forever.String() != "never" || Time(1767225600).String() != "2026-01-01T00:00:00Z" {
		t.Errorf("String: %q %q %q", Time(0), Forever, Time(1767225600))
	}
}

// LatestEnd counts the runtime limit from the later of submission and
// earliest start, and saturates as Add does.
func TestLatestEnd(t *testing.T) {
	for _, tc := range []struct {
		submit, earliest Time
		limit            Duration
		want             Time
	}{
		{100, 0, 10, 110},
		{100, 500, 10, 510},
		{500, 100, 10, 510},
		{100, 0, 0, 100},
		{MaxTime, 0, Duration(Forever), Forever},
	} {
		j := Job{SubmitTime: tc.submit, EarliestStart: tc.earliest, RuntimeLimit: tc.limit}
		if got := j.LatestEnd(); got != tc.want {
			t.Errorf("submit %d, earliest %d, limit %d: latest end %d, want %d", tc.submit, tc.earliest, tc.limit, got, tc.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Duration
		ok   bool
	}{
		{"90m", 90 * Minute, true}, {"4h", 4 * Hour, true}, {"2d", 2 * Day, true},
		{"1d12h", Day + 12*Hour, true}, {"3600", Hour, true}, {"0", 0, true},
		{"", 0, false}, {"-5", 0, false}, {"1.5s", 0, false}, {"d", 0, false}, {"2x", 0, false},
		{"200d", 0, false}, // above the maximum used here
	} {
		got, err := ParseDuration(tc.in, 100*Day)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseDuration(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// A duration beyond the maximum says so, whichever way it is written.
func TestParseDurationTooLong(t *testing.T) {
	for _, in := range []string{"101d", "100d1s", "2401h", "8640001", "99999999999999999999d"} {
		_, err := ParseDuration(in, 100*Day)
		if want := fmt.Sprintf("must be from 0 to 100d; got %q", in); err == nil || err.Error() != want {
			t.Errorf("ParseDuration(%q): %v; want %q", in, err, want)
		}
	}
	// The limit is said as a reader counts it, not in seconds: the
	// message read "must be from 0 to 3153600000 seconds".
	for max, want := range map[Duration]string{
		100 * 365 * Day: `must be from 0 to 100 years (36500d); got "36501d"`,
		365 * Day:       `must be from 0 to 1 year (365d); got "36501d"`,
		36 * Hour:       `must be from 0 to 36h; got "36501d"`,
		90 * Minute:     `must be from 0 to 90m; got "36501d"`,
		61:              `must be from 0 to 61s; got "36501d"`,
	} {
		_, err := ParseDuration("36501d", max)
		var re *DurationRangeError
		if err == nil || err.Error() != want || !errors.As(err, &re) || re.Max != max {
			t.Errorf("ParseDuration(36501d, %d): %v; want %q", max, err, want)
		}
	}
	if _, err := ParseDuration("-1d", 100*Day); err == nil || !strings.Contains(err.Error(), "must be a duration") {
		t.Errorf(`ParseDuration("-1d"): %v; want the format error`, err)
	}
}

func TestLevels(t *testing.T) {
	for l := LevelNode; l <= LevelAny; l++ {
		if p, ok := ParseLevel(l.String()); !ok || p != l {
			t.Errorf("level %d round-trips to %d, %v", l, p, ok)
		}
	}
	if _, ok := ParseLevel("galaxy"); ok {
		t.Error("unknown level accepted")
	}
}

func TestUsageAt(t *testing.T) {
	u := Usage{GPUSeconds: 1000, AsOf: 100}
	if got := u.At(100+Time(Day), Day); got != 500 {
		t.Errorf("one half-life later: %g, want 500", got)
	}
	if got := u.At(50, Day); got != 1000 {
		t.Errorf("before AsOf: %g", got)
	}
	if got := u.At(1e9, 0); got != 1000 {
		t.Errorf("no half-life: %g", got)
	}
}

func TestIsJurisdictionTag(t *testing.T) {
	for tag, want := range map[string]bool{
		"EU": true, "FR": true, "US-GOV": true, "A_1": true, "X": true,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345": true, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456": false,
		"": false, "fr": false, "Fr": false, "1EU": false, "-EU": false, "FR,DE": false, "FR DE": false, "É": false,
	} {
		if got := IsJurisdictionTag(tag); got != want {
			t.Errorf("IsJurisdictionTag(%q) = %v, want %v", tag, got, want)
		}
	}
}

// TestDurationStringHuge: a Duration beyond what a time.Duration holds
// (about 292 years) was written from a wrapped conversion, e.g.
// "2118437h25m5.467098624s" for some 17 million years; it is written in
// hours, as a shorter one is.
func TestDurationStringHuge(t *testing.T) {
	for d, want := range map[Duration]string{
		90 * Minute:                         "1h30m0s",
		100 * 365 * Day:                     "876000h0m0s",
		17_000_000*365*Day + 3*Hour + 61:    "148920000003h1m1s",
		-(17_000_000*365*Day + 3*Hour + 61): "-148920000003h1m1s",
	} {
		if got := d.String(); got != want {
			t.Errorf("Duration(%d).String() = %q, want %q", int64(d), got, want)
		}
	}
}
