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
	bad := fmt.Errorf(`must be a duration such as "90m", "4h", "2d" or integer seconds (got %q)`, short(s))
	tooLong := fmt.Errorf("must be from 0 to %d seconds (got %q)", int64(max), short(s))
	if s == "" {
		return 0, bad
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(max) {
			return 0, tooLong
		}
		return Duration(n), nil
	}
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err == nil && n > int64(max/Day) || errors.Is(err, strconv.ErrRange) && s[0] != '-' {
			return 0, tooLong
		}
		if err != nil || n < 0 {
			return 0, bad
		}
		days, s = n, s[i+1:]
	}
	var rest int64
	if s != "" {
		td, err := time.ParseDuration(s)
		if err != nil {
			return 0, bad
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
		return 0, tooLong
	}
	return Duration(total), nil
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
