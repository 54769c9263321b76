package jobspec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// The fields only the live control plane reads (the node agent runs the
// replicas): env, workdir, restart and max_retries. The scheduler and the
// digital twin ignore them.

// DefaultMaxRetries is max_retries of a job with restart: on-failure that
// does not say.
const DefaultMaxRetries = 3

// Limits on the runtime fields.
const (
	maxRetries  = 100
	maxEnvVars  = 256
	maxEnvName  = 128
	maxEnvValue = 32 << 10
)

// reservedEnv are the variables the control plane sets in every replica's
// environment (besides CARNOT_*); a job may not set them.
var reservedEnv = []string{"WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "CUDA_VISIBLE_DEVICES"}

// reservedEnvPrefix starts the names of the control plane's own variables.
const reservedEnvPrefix = "CARNOT_"

// env decodes the mapping of environment variables. Values are strings;
// other scalars are taken as written, so that `DEBUG: 1` sets "1" and
// `VERBOSE: true` sets "true". An empty mapping decodes to nil.
func (d *decoder) env(v *yamlin.Node, p fieldPath) map[string]string {
	switch v.Kind {
	case yamlin.KindNull:
		return nil
	case yamlin.KindMap:
	default:
		d.c.Add(v.Line, p.String(), "must be a mapping of variable names to values, e.g. {NCCL_DEBUG: INFO} (got %s)", v.Describe())
		return nil
	}
	if len(v.Entries) > maxEnvVars {
		d.c.Add(v.Line, p.String(), "more than %d variables", maxEnvVars)
		return nil
	}
	if len(v.Entries) == 0 {
		return nil
	}
	out := make(map[string]string, len(v.Entries))
	for _, e := range v.Entries {
		if msg := checkEnvName(e.Key); msg != "" {
			d.c.Add(e.Line, p.String(), "%s", msg)
			continue
		}
		kp := p.sub("." + e.Key)
		if _, dup := out[e.Key]; dup {
			d.c.Add(e.Line, kp.String(), "given twice")
			continue
		}
		if val, ok := d.envValue(e.Val, kp); ok {
			out[e.Key] = val
		}
	}
	return out
}

// checkEnvName returns what is wrong with a variable name, or "".
func checkEnvName(k string) string {
	switch {
	case len(k) > maxEnvName:
		return fmt.Sprintf("variable name %s is longer than %d bytes", strconv.Quote(yamlin.Truncate(k, 40)), maxEnvName)
	case !validEnvName(k):
		return fmt.Sprintf("invalid variable name %s: use letters, digits and '_', not starting with a digit", strconv.Quote(yamlin.Truncate(k, 40)))
	case strings.HasPrefix(k, reservedEnvPrefix):
		return "variable " + k + ": names starting with " + reservedEnvPrefix + " are reserved for the control plane"
	}
	for _, r := range reservedEnv {
		if k == r {
			return "variable " + k + " is set by the control plane for every replica (reserved: " + strings.Join(reservedEnv, ", ") + " and " + reservedEnvPrefix + "*)"
		}
	}
	return ""
}

// validEnvName reports whether k matches [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

func (d *decoder) envValue(v *yamlin.Node, p fieldPath) (string, bool) {
	switch {
	case v.Kind == yamlin.KindNull:
		d.c.Add(v.Line, p.String(), `must be a string (got null); write "" for an empty value`)
	case v.Kind == yamlin.KindMap || v.Kind == yamlin.KindSeq:
		d.c.Add(v.Line, p.String(), "must be a string, number or boolean (got %s)", v.Describe())
	case len(v.Text) > maxEnvValue:
		d.c.Add(v.Line, p.String(), "longer than %d bytes", maxEnvValue)
	case strings.IndexByte(v.Text, 0) >= 0:
		d.c.Add(v.Line, p.String(), "must not contain a NUL character")
	default:
		return v.Text, true
	}
	return "", false
}

// command decodes the argv the agent execs: its program may not be
// empty, and no argument may hold a NUL (exec refuses both, which would
// only show once the job was placed; str refuses the NUL).
func (d *decoder) command(v *yamlin.Node, p fieldPath) []string {
	argv := d.strList(v, p)
	if len(argv) > 0 {
		it, ip := v, p
		if v.Kind == yamlin.KindSeq {
			it, ip = v.Items[0], p.elem(0)
		}
		if it.Kind == yamlin.KindString && it.Text == "" {
			d.c.Add(it.Line, ip.String(), "must not be empty: it is the program to run")
		}
	}
	return argv
}

// workdir accepts an absolute path.
func (d *decoder) workdir(v *yamlin.Node, p fieldPath) string {
	switch {
	case v.Kind != yamlin.KindString:
		d.c.Add(v.Line, p.String(), "must be an absolute path such as /home/me/run (got %s)", v.Describe())
	case len(v.Text) > maxStrLen:
		d.c.Add(v.Line, p.String(), "longer than %d bytes", maxStrLen)
	case !strings.HasPrefix(v.Text, "/"):
		d.c.Add(v.Line, p.String(), "must be an absolute path such as /home/me/run (got %s)", v.Describe())
	case strings.IndexByte(v.Text, 0) >= 0:
		d.c.Add(v.Line, p.String(), "must not contain a NUL character")
	default:
		return v.Text
	}
	return ""
}

// restart accepts never or on-failure and reports whether it is the latter.
func (d *decoder) restart(v *yamlin.Node, p fieldPath) bool {
	if v.Kind == yamlin.KindString {
		switch v.Text {
		case "never":
			return false
		case "on-failure":
			return true
		}
	}
	d.c.Add(v.Line, p.String(), "must be never or on-failure (got %s)", v.Describe())
	return false
}

// restartDefaults gives a job with restart: on-failure its default
// max_retries and rejects max_retries without it.
func restartDefaults(s *spec, c *yamlin.Collector) {
	r := &s.job.Restart
	switch {
	case r.OnFailure && !s.has(fMaxRetries):
		r.MaxRetries = DefaultMaxRetries
	case !r.OnFailure && s.has(fMaxRetries) && !s.bad[fRestart]:
		how := "restart is not set and defaults to never"
		if s.has(fRestart) {
			how = "restart is never"
		}
		c.Add(s.lineOf(fMaxRetries), s.fpath(fMaxRetries), "applies only with restart: on-failure (%s)", how)
		r.MaxRetries = 0
	}
}

// restartPolicy is the wire form of a policy: restart and max_retries as
// Write emits them, both absent for the default (never).
func restartPolicy(r model.RestartPolicy) (string, *int) {
	if !r.OnFailure {
		return "", nil
	}
	n := r.MaxRetries
	return "on-failure", &n
}
