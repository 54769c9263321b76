package model

import (
	"fmt"
	"math"
	"time"
)

// Time is an instant in Unix seconds (UTC). The zero value means "unset".
type Time int64

// Duration is a length of time in seconds.
type Duration int64

// Common durations.
const (
	Second Duration = 1
	Minute Duration = 60
	Hour   Duration = 3600
	Day    Duration = 86400
)

// Forever is the Time used for "never ends" (no runtime limit).
const Forever Time = 1<<62 - 1

// MaxTime is the latest Time carnot reads or writes,
// 9999-12-31T23:59:59Z: RFC 3339 has four digits for the year, and
// time.Time's JSON and the stores refuse later ones. Inputs are held to
// it, and a twin run that would pass it stops with an error.
const MaxTime Time = 253402300799

// Add returns t+d, saturating at Forever.
func (t Time) Add(d Duration) Time {
	if t >= Forever || d >= Duration(Forever) || t+Time(d) >= Forever {
		return Forever
	}
	return t + Time(d)
}

// Sub returns t-u as a Duration.
func (t Time) Sub(u Time) Duration { return Duration(t - u) }

// String formats t as RFC 3339 in UTC, "never" for Forever and "-" for 0.
func (t Time) String() string {
	switch {
	case t == 0:
		return "-"
	case t >= Forever:
		return "never"
	}
	return time.Unix(int64(t), 0).UTC().Format(time.RFC3339)
}

// Clock formats t as HH:MM (UTC), for short human messages.
func (t Time) Clock() string {
	if t >= Forever {
		return "never"
	}
	return time.Unix(int64(t), 0).UTC().Format("15:04")
}

// String formats d like "1h30m0s". Beyond what a time.Duration holds
// (about 292 years) it is written the same way, in hours, where the
// conversion used to wrap to a wrong figure with nanoseconds.
func (d Duration) String() string {
	const most = Duration(math.MaxInt64 / int64(time.Second))
	if d > most || d < -most {
		sign, u := "", uint64(d)
		if d < 0 {
			sign, u = "-", -u
		}
		return fmt.Sprintf("%s%dh%dm%ds", sign, u/3600, u/60%60, u%60)
	}
	return (time.Duration(d) * time.Second).String()
}

// TimeOf converts a time.Time to a Time.
func TimeOf(t time.Time) Time { return Time(t.Unix()) }

// DurationOf converts a time.Duration to a Duration, rounding down to seconds.
func DurationOf(d time.Duration) Duration { return Duration(d / time.Second) }
