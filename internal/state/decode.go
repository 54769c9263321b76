package state

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
)

// Limits on values, so that hostile files cost little.
const (
	maxStrLen  = 1024
	maxListLen = 100_000
	maxItems   = 1_000_000     // list items decoded in all, aliases counted each time
	maxTime    = 253402300799  // 9999-12-31T23:59:59Z
	maxGPUHrs  = 1e12          // usage beyond this is a typo
	maxCapW    = 1_000_000     // power caps beyond this are a typo
	maxGPUIdx  = math.MaxInt32 // GPU indices are checked against the node later
)

// decoder reads values off the node tree, reporting every problem.
type decoder struct {
	c      *errs
	items  int  // list items decoded so far
	tooBig bool // items passed maxItems
}

// fields walks the mapping n: unknown and repeated keys are errors, each
// known key goes to set. It reports false when n is not a mapping.
func (d *decoder) fields(n *node, path, what string, known []string, set func(e entry)) bool {
	if n.kind != kindMap {
		d.c.add(n.line, path, "must be a mapping with the fields of %s (got %s)", what, n.describe())
		return false
	}
	seen := make(map[string]int, len(n.entries))
	for _, e := range n.entries {
		if !slices.Contains(known, e.key) {
			d.c.add(e.line, path, "unknown field %q; %s has %s", truncate(e.key, 40), what, strings.Join(known, ", "))
			continue
		}
		if first, dup := seen[e.key]; dup {
			d.c.add(e.line, join(path, e.key), "given twice (first on line %d)", first)
			continue
		}
		seen[e.key] = e.line
		set(e)
	}
	return true
}

// join appends a field name to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// list returns the items of a list; null is the empty list.
func (d *decoder) list(v *node, path, what string) []*node {
	switch v.kind {
	case kindNull:
		return nil
	case kindSeq:
	default:
		d.c.add(v.line, path, "must be a list of %s (got %s)", what, v.describe())
		return nil
	}
	if len(v.items) > maxListLen {
		d.c.add(v.line, path, "more than %d entries", maxListLen)
		return nil
	}
	d.items += len(v.items)
	if d.items > maxItems {
		if !d.tooBig {
			d.tooBig = true
			d.c.add(v.line, path, "the file expands (through aliases) to more than %d list entries; write it out with fewer aliases", maxItems)
		}
		return nil
	}
	return v.items
}

func (d *decoder) str(v *node, path string) (string, bool) {
	switch v.kind {
	case kindMap, kindSeq, kindNull:
		d.c.add(v.line, path, "must be a string (got %s)", v.describe())
		return "", false
	}
	if len(v.text) > maxStrLen {
		d.c.add(v.line, path, "longer than %d bytes", maxStrLen)
		return "", false
	}
	return v.text, true
}

func (d *decoder) integer(v *node, path string, lo, hi int64) (int64, bool) {
	if v.kind != kindInt {
		d.c.add(v.line, path, "must be an integer from %d to %d (got %s)", lo, hi, v.describe())
		return 0, false
	}
	if v.i < lo || v.i > hi {
		d.c.add(v.line, path, "must be from %d to %d (got %d)", lo, hi, v.i)
		return 0, false
	}
	return v.i, true
}

// number accepts integers and decimals from lo to hi.
func (d *decoder) number(v *node, path string, lo, hi float64) (float64, bool) {
	var f float64
	switch v.kind {
	case kindInt:
		f = float64(v.i)
	case kindFloat:
		var err error
		f, err = strconv.ParseFloat(strings.ReplaceAll(v.text, "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.c.add(v.line, path, "must be a number such as 12 or 3.5 (got %s)", v.describe())
			return 0, false
		}
	default:
		d.c.add(v.line, path, "must be a number such as 12 or 3.5 (got %s)", v.describe())
		return 0, false
	}
	switch {
	case f < lo:
		d.c.add(v.line, path, "must be ≥ %g (got %g)", lo, f)
		return 0, false
	case f > hi:
		d.c.add(v.line, path, "must be ≤ %g (got %g)", hi, f)
		return 0, false
	}
	return f, true
}

func (d *decoder) boolean(v *node, path string) (bool, bool) {
	if v.kind != kindBool {
		d.c.add(v.line, path, "must be true or false (got %s)", v.describe())
		return false, false
	}
	return v.b, true
}

// timestamp accepts an RFC 3339 time or integer Unix seconds.
func (d *decoder) timestamp(v *node, path string) (model.Time, bool) {
	const want = `must be an RFC 3339 time such as "2026-01-05T08:00:00Z" or integer Unix seconds`
	var t int64
	switch v.kind {
	case kindInt:
		t = v.i
	case kindString:
		if n, err := strconv.ParseInt(v.text, 10, 64); err == nil {
			t = n
			break
		}
		tt, err := time.Parse(time.RFC3339, v.text)
		if err != nil {
			d.c.add(v.line, path, "%s (got %s)", want, v.describe())
			return 0, false
		}
		if tt.Nanosecond() != 0 {
			d.c.add(v.line, path, "must be whole seconds (got %s)", v.describe())
			return 0, false
		}
		t = tt.Unix()
	default:
		d.c.add(v.line, path, "%s (got %s)", want, v.describe())
		return 0, false
	}
	if t <= 0 || t > maxTime {
		d.c.add(v.line, path, "must be after 1970-01-01T00:00:00Z and before year 10000 (got %d)", t)
		return 0, false
	}
	return model.Time(t), true
}

// gpuSet accepts a list of GPU indices ([0, 1]) or a string of indices
// and ranges ("0-3,6"), each index below count (the node's GPUs) and
// none twice.
func (d *decoder) gpuSet(v *node, path, nodeName string, count int) ([]int, bool) {
	if v.kind == kindString {
		gpus, err := parseGPUs(v.text, nodeName, count)
		if err != nil {
			d.c.add(v.line, path, "%v", err)
			return nil, false
		}
		return gpus, true
	}
	if v.kind != kindSeq {
		d.c.add(v.line, path, `must be a list of GPU indices such as [0, 1] or a string such as "0-3,6" (got %s)`, v.describe())
		return nil, false
	}
	items := d.list(v, path, "GPU indices")
	out := make([]int, 0, len(items))
	ok := true
	for i, it := range items {
		g, good := d.integer(it, index(path, i), 0, maxGPUIdx)
		switch {
		case !good:
			ok = false
		case int(g) >= count:
			d.c.add(it.line, index(path, i), "GPU %d is out of range; %s", g, gpuRange(nodeName, count))
			ok = false
		case slices.Contains(out, int(g)):
			d.c.add(it.line, index(path, i), "GPU %d is listed twice", g)
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
			return nil, fmt.Errorf(`bad GPU list %q; want indices and ranges such as "0-3", "4,5" or "0-1,6"`, truncate(s, 40))
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
