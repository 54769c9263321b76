package state

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// Limits on values, so that hostile files cost little.
const (
	maxStrLen  = 1024
	maxListLen = 100_000
	maxTime    = 253402300799  // 9999-12-31T23:59:59Z
	maxGPUHrs  = 1e12          // usage beyond this is a typo
	maxCapW    = 1_000_000     // power caps beyond this are a typo
	maxGPUIdx  = math.MaxInt32 // GPU indices are checked against the node later
)

// decoder reads values off the node tree, reporting every problem. What
// aliases make it read again is bounded by limits.Values.
type decoder struct {
	c *yamlin.Collector
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// list returns the items of a list; null is the empty list.
func (d *decoder) list(v *yamlin.Node, path, what string) []*yamlin.Node {
	switch v.Kind {
	case yamlin.KindNull:
		return nil
	case yamlin.KindSeq:
	default:
		d.c.Add(v.Line, path, "must be a list of %s (got %s)", what, v.Describe())
		return nil
	}
	if len(v.Items) > maxListLen {
		d.c.Add(v.Line, path, "more than %d entries", maxListLen)
		return nil
	}
	return v.Items
}

func (d *decoder) str(v *yamlin.Node, path string) (string, bool) {
	switch v.Kind {
	case yamlin.KindMap, yamlin.KindSeq, yamlin.KindNull:
		d.c.Add(v.Line, path, "must be a string (got %s)", v.Describe())
		return "", false
	}
	if len(v.Text) > maxStrLen {
		d.c.Add(v.Line, path, "longer than %d bytes", maxStrLen)
		return "", false
	}
	return v.Text, true
}

// number accepts integers and decimals from lo to hi.
func (d *decoder) number(v *yamlin.Node, path string, lo, hi float64) (float64, bool) {
	var f float64
	switch v.Kind {
	case yamlin.KindInt:
		f = float64(v.Int)
	case yamlin.KindFloat:
		var problem string
		if f, problem = yamlin.Float(v); problem != "" {
			d.c.Add(v.Line, path, "%s", problem)
			return 0, false
		}
	default:
		d.c.Add(v.Line, path, "must be a number such as 12 or 3.5 (got %s)", v.Describe())
		return 0, false
	}
	switch {
	case f < lo:
		d.c.Add(v.Line, path, "must be ≥ %g (got %g)", lo, f)
		return 0, false
	case f > hi:
		d.c.Add(v.Line, path, "must be ≤ %g (got %g)", hi, f)
		return 0, false
	}
	return f, true
}

func (d *decoder) boolean(v *yamlin.Node, path string) (bool, bool) {
	if v.Kind != yamlin.KindBool {
		d.c.Add(v.Line, path, "must be true or false (got %s)", v.Describe())
		return false, false
	}
	return v.Bool, true
}

// timestamp accepts an RFC 3339 time or integer Unix seconds.
func (d *decoder) timestamp(v *yamlin.Node, path string) (model.Time, bool) {
	const want = `must be an RFC 3339 time such as "2026-01-05T08:00:00Z" or integer Unix seconds`
	var t int64
	switch v.Kind {
	case yamlin.KindInt:
		t = v.Int
	case yamlin.KindString:
		if n, err := strconv.ParseInt(v.Text, 10, 64); err == nil {
			t = n
			break
		}
		tt, err := time.Parse(time.RFC3339, v.Text)
		if err != nil {
			d.c.Add(v.Line, path, "%s (got %s)", want, v.Describe())
			return 0, false
		}
		if tt.Nanosecond() != 0 {
			d.c.Add(v.Line, path, "must be whole seconds (got %s)", v.Describe())
			return 0, false
		}
		t = tt.Unix()
	default:
		d.c.Add(v.Line, path, "%s (got %s)", want, v.Describe())
		return 0, false
	}
	if t <= 0 || t > maxTime {
		d.c.Add(v.Line, path, "must be after 1970-01-01T00:00:00Z and before year 10000 (got %d)", t)
		return 0, false
	}
	return model.Time(t), true
}

// gpuSet accepts a list of GPU indices ([0, 1]) or a string of indices
// and ranges ("0-3,6"), each index below count (the node's GPUs) and
// none twice.
func (d *decoder) gpuSet(v *yamlin.Node, path, nodeName string, count int) ([]int, bool) {
	if v.Kind == yamlin.KindString {
		gpus, err := parseGPUs(v.Text, nodeName, count)
		if err != nil {
			d.c.Add(v.Line, path, "%v", err)
			return nil, false
		}
		return gpus, true
	}
	if v.Kind != yamlin.KindSeq {
		d.c.Add(v.Line, path, `must be a list of GPU indices such as [0, 1] or a string such as "0-3,6" (got %s)`, v.Describe())
		return nil, false
	}
	items := d.list(v, path, "GPU indices")
	out := make([]int, 0, len(items))
	ok := true
	for i, it := range items {
		g, good := d.c.Integer(it, index(path, i), 0, maxGPUIdx)
		switch {
		case !good:
			ok = false
		case int(g) >= count:
			d.c.Add(it.Line, index(path, i), "GPU %d is out of range; %s", g, gpuRange(nodeName, count))
			ok = false
		case slices.Contains(out, int(g)):
			d.c.Add(it.Line, index(path, i), "GPU %d is listed twice", g)
			ok = false
		default:
			out = append(out, int(g))
		}
	}
	return out, ok
}

// parseGPUs parses "0-3", "4,5" or "0-1,6" into indices below count.
func parseGPUs(s, nodeName string, count int) ([]int, error) {
	var out []int
	seen := make(map[int]bool)
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a {
			return nil, fmt.Errorf(`bad GPU list %q; want indices and ranges such as "0-3", "4,5" or "0-1,6"`, yamlin.Truncate(s, 40))
		}
		if b >= count {
			return nil, fmt.Errorf("GPU %d is out of range; %s", b, gpuRange(nodeName, count))
		}
		for g := a; g <= b; g++ {
			if seen[g] {
				return nil, fmt.Errorf("GPU %d is listed twice", g)
			}
			seen[g] = true
			out = append(out, g)
		}
	}
	return out, nil
}

func gpuRange(nodeName string, count int) string {
	switch count {
	case 0:
		return "node " + nodeName + " has no GPUs"
	case 1:
		return "node " + nodeName + " has 1 GPU (0)"
	}
	return fmt.Sprintf("node %s has %d GPUs (0-%d)", nodeName, count, count-1)
}

// oneOf lists names for a message, at most eight of them.
func oneOf(names []string) string {
	if len(names) > 8 {
		return strings.Join(names[:8], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}
