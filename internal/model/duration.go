package model

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration such as "90m", "4h", "2d", "1d12h" or
// integer seconds, at most max. Loaders of every input format share it.
func ParseDuration(s string, max Duration) (Duration, error) {
	// The errors are made only when returned: loaders parse a duration
	// per job, and most parse.
	in := s
	bad := func() error {
		return fmt.Errorf(`must be a duration such as "90m", "4h", "2d" or integer seconds (got %q)`, short(in))
	}
	tooLong := func() error { return &DurationRangeError{Max: max, Got: short(in)} }
	if s == "" {
		return 0, bad()
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(max) {
			return 0, tooLong()
		}
		return Duration(n), nil
	}
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err == nil && n > int64(max/Day) || errors.Is(err, strconv.ErrRange) && s[0] != '-' {
			return 0, tooLong()
		}
		if err != nil || n < 0 {
			return 0, bad()
		}
		days, s = n, s[i+1:]
	}
	var rest int64
	if s != "" {
		td, err := time.ParseDuration(s)
		if err != nil {
			return 0, bad()
		}
		if td%time.Second != 0 {
			return 0, fmt.Errorf("must be whole seconds (got %q)", short(s))
		}
		rest = int64(td / time.Second)
	}
	if rest < 0 {
		return 0, fmt.Errorf("must not be negative (got %q)", short(s))
	}
	total := days*int64(Day) + rest
	if total > int64(max) || total < 0 {
		return 0, tooLong()
	}
	return Duration(total), nil
}

// DurationRangeError is ParseDuration's error for a duration beyond its
// maximum: it says the maximum as Readable does, not in seconds.
type DurationRangeError struct {
	Max Duration
	Got string // the duration as written (cut to 40 bytes)
}

func (e *DurationRangeError) Error() string {
	return fmt.Sprintf("must be from 0 to %s; got %q", e.Max.Readable(), e.Got)
}

// Readable writes d as a limit is best read: whole years of 365 days
// with their days ("100 years (36500d)", "1 year (365d)"), else in the
// largest unit that divides it, as ParseDuration reads them ("100d",
// "36h", "90m", "61s").
func (d Duration) Readable() string {
	const year = 365 * Day
	switch {
	case d >= year && d%year == 0:
		unit := "years"
		if d == year {
			unit = "year"
		}
		return fmt.Sprintf("%d %s (%dd)", d/year, unit, d/Day)
	case d > 0 && d%Day == 0:
		return fmt.Sprintf("%dd", d/Day)
	case d > 0 && d%Hour == 0:
		return fmt.Sprintf("%dh", d/Hour)
	case d > 0 && d%Minute == 0:
		return fmt.Sprintf("%dm", d/Minute)
	}
	return fmt.Sprintf("%ds", int64(d))
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
