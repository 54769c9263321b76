package scenario

import (
	"regexp"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// decoder reads values off a yamlin tree, reporting every problem to c.
type decoder struct{ c *yamlin.Collector }

// named reads a mapping of name → variant, in file order. Names are
// checked with validName; the mapping may not be empty.
func (d *decoder) named(n *yamlin.Node, path string, each func(name string, line int, v *yamlin.Node)) {
	if n.Kind != yamlin.KindMap || len(n.Entries) == 0 {
		d.c.Add(n.Line, path, "must be a mapping of names to variants, e.g. %s: {base: {}} (got %s)", path, describeEmpty(n))
		return
	}
	d.c.Entries(n, path, func(e yamlin.Entry) {
		if !validName.MatchString(e.Key) {
			d.c.Add(e.Line, path, "name %q: use 1–40 letters, digits, '.', '_' or '-', starting with a letter or digit", yamlin.Truncate(e.Key, 40))
			return
		}
		each(e.Key, e.Line, e.Val)
	})
}

// validName is a variant or scenario name: it becomes a directory name.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$`)

func (d *decoder) str(v *yamlin.Node, path string) (string, bool) {
	switch v.Kind {
	case yamlin.KindMap, yamlin.KindSeq, yamlin.KindNull:
		d.c.Add(v.Line, path, "must be a string (got %s)", v.Describe())
		return "", false
	}
	if v.Text == "" || len(v.Text) > 4096 {
		d.c.Add(v.Line, path, "must be a non-empty string of at most 4096 bytes")
		return "", false
	}
	return v.Text, true
}

// number accepts integers and decimals from lo to hi; open makes lo
// itself invalid.
func (d *decoder) number(v *yamlin.Node, path string, lo, hi float64, open bool) (float64, bool) {
	f, problem := yamlin.Float(v)
	switch {
	case problem != "": // .inf, 1e400
		d.c.Add(v.Line, path, "%s; use a number such as 0.8 or 1.25", problem)
		return 0, false
	case v.Kind != yamlin.KindInt && v.Kind != yamlin.KindFloat:
		d.c.Add(v.Line, path, "must be a number such as 0.8 or 1.25 (got %s)", v.Describe())
		return 0, false
	}
	if f < lo || open && f == lo || f > hi {
		op := "≥"
		if open {
			op = "above"
		}
		d.c.Add(v.Line, path, "must be %s %g and at most %g (got %g)", op, lo, hi, f)
		return 0, false
	}
	return f, true
}

// maxDuration bounds every duration of a scenario set but a gpu_mtbf
// (sim.MaxGPUMTBF): a year.
const maxDuration = 365 * model.Day

// duration reads "90m", "4h", "2d" or integer seconds, up to a year.
func (d *decoder) duration(v *yamlin.Node, path string) (model.Duration, bool) {
	return d.durationUpTo(v, path, maxDuration)
}

// durationUpTo reads a duration as duration does, up to max.
func (d *decoder) durationUpTo(v *yamlin.Node, path string, limit model.Duration) (model.Duration, bool) {
	switch v.Kind {
	case yamlin.KindString, yamlin.KindInt:
	case yamlin.KindFloat: // 1e3, 1.5, .inf
		d.c.Add(v.Line, path, "%s", yamlin.DurationProblem(v.Text, int64(limit), limit.Readable()))
		return 0, false
	default:
		d.c.Add(v.Line, path, `must be a duration such as "90m", "4h" or "2d" (got %s)`, v.Describe())
		return 0, false
	}
	du, err := model.ParseDuration(v.Text, limit)
	if err != nil {
		d.c.Add(v.Line, path, "%v", err)
		return 0, false
	}
	return du, true
}

// timestamp reads an RFC 3339 time such as 2023-03-01T00:00:00Z.
func (d *decoder) timestamp(v *yamlin.Node, path string) (model.Time, bool) {
	if v.Kind == yamlin.KindString {
		t, err := time.Parse(time.RFC3339, v.Text)
		if err == nil && t.Nanosecond() != 0 { // cut off by model.TimeOf
			d.c.Add(v.Line, path, "must be whole seconds (got %s)", v.Describe())
			return 0, false
		}
		if err == nil && t.Unix() > 0 && t.Year() < 10000 {
			return model.TimeOf(t), true
		}
	}
	d.c.Add(v.Line, path, "must be an RFC 3339 time after 1970 such as 2023-03-01T00:00:00Z (got %s)", v.Describe())
	return 0, false
}

// describeEmpty describes n as yamlin's Describe does, but says "an
// empty mapping" (or list) where one is empty: "must be a mapping (got a
// mapping)" left the reader to guess what was wrong.
func describeEmpty(n *yamlin.Node) string {
	if (n.Kind == yamlin.KindMap && len(n.Entries) == 0) || (n.Kind == yamlin.KindSeq && len(n.Items) == 0) {
		return "an empty " + n.Kind.String()
	}
	return n.Describe()
}

// failTime reads a failure variant's duration (an MTBF or MTTR of
// what: nodes, GPUs), at most limit; not ok when it is malformed or not
// above 0 (said so).
func (d *decoder) failTime(e yamlin.Entry, path string, limit model.Duration, what string) (model.Duration, bool) {
	du, ok := d.durationUpTo(e.Val, yamlin.Join(path, e.Key), limit)
	if ok && du <= 0 {
		d.c.Add(e.Val.Line, yamlin.Join(path, e.Key), "must be above 0 (leave it out for %s that never fail)", what)
		return 0, false
	}
	return du, ok
}
