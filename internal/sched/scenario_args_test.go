package sched_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
)

// args holds a directive's positional words and key=value pairs. Keys
// may repeat (on=... on=...). Every key must be read; done reports the
// ones nobody read, so a typo in a script fails loudly.
type args struct {
	pos  []string
	kv   map[string][]string
	used map[string]bool
}

func parseArgs(fields []string) (*args, error) {
	a := &args{kv: map[string][]string{}, used: map[string]bool{}}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			if len(a.kv) > 0 {
				return nil, fmt.Errorf("positional %q after key=value pairs", f)
			}
			a.pos = append(a.pos, f)
			continue
		}
		a.kv[k] = append(a.kv[k], v)
	}
	return a, nil
}

func (a *args) done() error {
	var unused []string
	for k := range a.kv {
		if !a.used[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		return fmt.Errorf("unknown keys %v", unused)
	}
	return nil
}

func (a *args) has(k string) bool { a.used[k] = true; return len(a.kv[k]) > 0 }

func (a *args) all(k string) []string { a.used[k] = true; return a.kv[k] }

func (a *args) str(k, def string) string {
	a.used[k] = true
	if v := a.kv[k]; len(v) > 0 {
		return v[len(v)-1]
	}
	return def
}

func (a *args) list(k string, def []string) []string {
	s := a.str(k, "")
	if s == "" {
		return def
	}
	return strings.Split(s, ",")
}

func (a *args) int(k string, def int) (int, error) {
	s := a.str(k, "")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", k, err)
	}
	return n, nil
}

func (a *args) float(k string, def float64) (float64, error) {
	s := a.str(k, "")
	if s == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", k, err)
	}
	return f, nil
}

func (a *args) bool(k string, def bool) (bool, error) {
	switch s := a.str(k, ""); s {
	case "":
		return def, nil
	case "on", "yes", "true":
		return true, nil
	case "off", "no", "false":
		return false, nil
	default:
		return false, fmt.Errorf("%s: want on/off, yes/no or true/false, got %q", k, s)
	}
}

func (a *args) dur(k string, def model.Duration) (model.Duration, error) {
	s := a.str(k, "")
	if s == "" {
		return def, nil
	}
	d, err := parseDur(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", k, err)
	}
	return d, nil
}

func (a *args) time(w *world, k string, def model.Time) (model.Time, error) {
	s := a.str(k, "")
	if s == "" {
		return def, nil
	}
	t, err := parseTime(s, w.clock)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", k, err)
	}
	return t, nil
}

// parseDur parses Go durations plus a leading day count: "90m", "2h",
// "1d", "1d12h".
func parseDur(s string) (model.Duration, error) {
	var days int64
	if d, rest, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		days, s = n, rest
		if s == "" {
			return model.Duration(days) * model.Day, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return model.Duration(days)*model.Day + model.DurationOf(d), nil
}

// parseTime parses "+1h" or "-30m" (relative to clock), RFC 3339, or
// "2026-01-01T10:00" (UTC).
func parseTime(s string, clock model.Time) (model.Time, error) {
	switch {
	case strings.HasPrefix(s, "+"):
		d, err := parseDur(s[1:])
		return clock.Add(d), err
	case strings.HasPrefix(s, "-"):
		d, err := parseDur(s[1:])
		return clock - model.Time(d), err
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15"} {
		if t, err := time.Parse(layout, s); err == nil {
			return model.TimeOf(t), nil
		}
	}
	return 0, fmt.Errorf("bad time %q: want +1h, -30m, RFC 3339 or 2006-01-02T15:04", s)
}

// expand expands one bracket range: "n[1-3]" → n1 n2 n3, "gpu[01-02]x"
// → gpu01x gpu02x (zero padding kept). Names without brackets stand alone.
func expand(s string) ([]string, error) {
	open := strings.Index(s, "[")
	if open < 0 {
		return []string{s}, nil
	}
	end := strings.Index(s, "]")
	lo, hi, ok := strings.Cut(s[open+1:max(end, open+1)], "-")
	if end < open || !ok {
		return nil, fmt.Errorf("bad range in %q: want name[1-4]", s)
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || a > b {
		return nil, fmt.Errorf("bad range in %q", s)
	}
	var out []string
	for i := a; i <= b; i++ {
		out = append(out, fmt.Sprintf("%s%0*d%s", s[:open], len(lo), i, s[end+1:]))
	}
	return out, nil
}

// parseGPUs parses "0-3,6" into [0 1 2 3 6].
func parseGPUs(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("bad GPU list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad GPU list %q", s)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

// parsePlacement parses "n1:0-3" with an optional "@450" power cap.
func parsePlacement(s string) (model.Placement, error) {
	s, capW, hasCap := strings.Cut(s, "@")
	node, gpus, ok := strings.Cut(s, ":")
	if !ok {
		return model.Placement{Node: node}, nil // CPU-only replica
	}
	g, err := parseGPUs(gpus)
	if err != nil {
		return model.Placement{}, err
	}
	pl := model.Placement{Node: node, GPUs: g}
	if hasCap {
		capW, own, lent := strings.Cut(capW, "/") // @650/300: 650 W, of which 350 W lent over its own 300 W
		if pl.PowerCapW, err = strconv.Atoi(strings.TrimSuffix(capW, "W")); err != nil {
			return model.Placement{}, fmt.Errorf("bad power cap in %q", s)
		}
		if lent {
			if pl.StartCapW, err = strconv.Atoi(strings.TrimSuffix(own, "W")); err != nil || pl.StartCapW <= 0 {
				return model.Placement{}, fmt.Errorf("bad own power cap in %q", s)
			}
		}
	}
	return pl, nil
}

// parseModelInts parses "H100:16,H200:8" or, with def set, a bare "8"
// that applies to every model in def.
func parseModelInts(s string, def []string) (map[string]int, error) {
	out := map[string]int{}
	if s == "" {
		return out, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		for _, m := range def {
			out[m] = n
		}
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		m, v, ok := strings.Cut(part, ":")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			return nil, fmt.Errorf("bad per-model list %q: want H100:16,H200:8", s)
		}
		out[m] = n
	}
	return out, nil
}
