package jobspec

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// field names a key of a job; its value indexes spec.at.
type field int

const (
	fID field = iota
	fKind
	fTenant
	fPriorityClass
	fReplicas
	fMinReplicas
	fGPUs
	fGPUModel
	fCPUs
	fMemory
	fPreemptible
	fCheckpointGrace
	fRuntimeLimit
	fJurisdictions
	fDataClass
	fEarliestStart
	fDeadline
	fTopology
	fExclusiveNode
	fSubmitTime
	fCommand
	fEnv
	fWorkDir
	fRestart
	fMaxRetries
	fDependsOn
	numFields
)

// fieldNames are the keys of a job, in the order Write emits them.
var fieldNames = [numFields]string{
	"id", "kind", "tenant", "priority_class", "replicas", "min_replicas",
	"gpus", "gpu_model", "cpus", "memory_gib", "preemptible",
	"checkpoint_grace", "runtime_limit", "jurisdictions", "data_class",
	"earliest_start", "deadline", "topology", "exclusive_node",
	"submit_time", "command", "env", "workdir", "restart", "max_retries",
	"depends_on",
}

var fieldByName = func() map[string]field {
	m := make(map[string]field, numFields)
	for i, n := range fieldNames {
		m[n] = field(i)
	}
	return m
}()

// MaxTime is the latest time a job file may hold, 9999-12-31T23:59:59Z;
// the earliest is 1 (1970-01-01T00:00:01Z), 0 meaning unset.
const MaxTime = model.MaxTime

// Limits on numbers, so that products like replicas × GPUs never overflow.
const (
	maxReplicas = 1_000_000
	maxGPUs     = 4096
	maxCPUs     = 1 << 20
	maxMemGiB   = 1 << 30
	maxDuration = 100 * 365 * model.Day
	maxTime     = int64(MaxTime)
	maxStrLen   = 1024
	maxListLen  = 4096
)

// spec is one job while it is being decoded and checked.
type spec struct {
	job  model.Job
	idx  int              // position in the file, from 0
	line int              // where the job starts
	at   [numFields]int32 // line of each field given; 0 = absent
	bad  [numFields]bool  // the field's value was rejected
	// lines of the items of gpu_model, jurisdictions and depends_on,
	// when written one per line (a block list); nil otherwise
	modelLines, tagLines, depLines []int32
}

// path is the job's path in messages, e.g. "jobs[3]".
func (s *spec) path() string { return "jobs[" + strconv.Itoa(s.idx) + "]" }

// fieldPath names a value of a job for messages. It is a plain value so
// that decoding allocates nothing for paths until a message needs one.
type fieldPath struct {
	job int
	f   field
	key string // sub-field, e.g. ".level"
	i   int    // list element; -1 for none
}

func (p fieldPath) sub(key string) fieldPath { p.key = key; return p }
func (p fieldPath) elem(i int) fieldPath     { p.i = i; return p }

func (p fieldPath) String() string {
	s := "jobs[" + strconv.Itoa(p.job) + "]." + fieldNames[p.f] + p.key
	if p.i >= 0 {
		s += "[" + strconv.Itoa(p.i) + "]"
	}
	return s
}

// itemLine returns the line of item i of gpu_model, jurisdictions or
// depends_on, or the field's line when the items' lines are not known.
func (s *spec) itemLine(f field, i int) int {
	lines := s.modelLines
	switch f {
	case fJurisdictions:
		lines = s.tagLines
	case fDependsOn:
		lines = s.depLines
	}
	if i < len(lines) && lines[i] > 0 {
		return int(lines[i])
	}
	return s.lineOf(f)
}

// itemLines lists the lines of a list's items; nil when they are all on
// line key, where the field is named (a flow list, or JSONL), which then
// names them. The list's own line would not do: a block list starts on
// its first item's, so a list of one item was named at its field.
func itemLines(v *yamlin.Node, key int32) []int32 {
	if v.Kind != yamlin.KindSeq || !slices.ContainsFunc(v.Items, func(it *yamlin.Node) bool { return int32(it.Line) != key }) {
		return nil
	}
	out := make([]int32, len(v.Items))
	for i, it := range v.Items {
		out[i] = int32(it.Line)
	}
	return out
}

// lineOf returns the line of field f, or the job's line when absent.
func (s *spec) lineOf(f field) int {
	if s.at[f] > 0 {
		return int(s.at[f])
	}
	return s.line
}

func (s *spec) has(f field) bool { return s.at[f] > 0 }

func (s *spec) fpath(f field) string { return s.path() + "." + fieldNames[f] }

// decoder reads values off the node tree into a spec.
type decoder struct {
	c *yamlin.Collector
	// stored drops a set's repeated items instead of refusing them
	// (Reload).
	stored bool
}

// job decodes the mapping n into a spec with defaults applied.
func (d *decoder) job(n *yamlin.Node, idx int) *spec {
	s := &spec{idx: idx, line: n.Line}
	if n.Kind != yamlin.KindMap {
		d.c.Add(n.Line, s.path(), "must be a mapping of job fields (got %s)", n.Describe())
		return nil
	}
	if n.Line == 0 && len(n.Entries) > 0 {
		s.line = n.Entries[0].Line
	}
	for _, e := range n.Entries {
		f, ok := fieldByName[e.Key]
		if !ok {
			d.c.Unknown(e.Line, s.path(), e.Key, suggest(e.Key))
			continue
		}
		if s.at[f] > 0 {
			d.c.Add(e.Line, s.fpath(f), "given twice (first on line %d)", s.at[f])
			continue
		}
		s.at[f] = int32(max(e.Line, 1))
		before := d.c.Count()
		d.field(s, f, e.Val)
		s.bad[f] = d.c.Count() > before
	}
	return s
}

func (d *decoder) field(s *spec, f field, v *yamlin.Node) {
	j, p := &s.job, fieldPath{job: s.idx, f: f, i: -1}
	switch f {
	case fID:
		j.ID = d.str(v, p)
	case fKind:
		switch k := d.str(v, p); k {
		case "job", "deployment":
			j.Kind = model.Kind(k)
		case "":
		default:
			d.c.Add(v.Line, p.String(), "must be job or deployment (got %q)", yamlin.Truncate(k, 40))
		}
	case fTenant:
		j.Tenant = d.str(v, p)
	case fPriorityClass:
		j.PriorityClass = d.str(v, p)
	case fReplicas:
		j.Replicas = int(d.integer(v, p, 1, maxReplicas))
	case fMinReplicas:
		j.MinReplicas = int(d.integer(v, p, 1, maxReplicas))
	case fGPUs:
		j.GPUsPerReplica = int(d.integer(v, p, 0, maxGPUs))
	case fGPUModel:
		j.GPUModels = d.set(v, p, "GPU model")
		if !d.stored {
			s.modelLines = itemLines(v, s.at[f])
		}
	case fCPUs:
		j.CPUsPerReplica = int(d.integer(v, p, 0, maxCPUs))
	case fMemory:
		j.MemGiBPerReplica = int(d.integer(v, p, 0, maxMemGiB))
	case fPreemptible:
		j.Preemptible = d.boolean(v, p)
	case fCheckpointGrace:
		j.CheckpointGrace = d.duration(v, p)
	case fRuntimeLimit:
		j.RuntimeLimit = d.duration(v, p)
	case fJurisdictions:
		j.Jurisdictions = d.set(v, p, "tag")
		if !d.stored {
			s.tagLines = itemLines(v, s.at[f])
		}
	case fDataClass:
		j.DataClass = d.str(v, p)
	case fEarliestStart:
		j.EarliestStart = d.timestamp(v, p)
	case fDeadline:
		j.Deadline = d.timestamp(v, p)
	case fTopology:
		j.Topology = d.topology(v, p)
	case fExclusiveNode:
		j.ExclusiveNode = d.boolean(v, p)
	case fSubmitTime:
		j.SubmitTime = d.timestamp(v, p)
	case fCommand:
		j.Command = d.command(v, p)
	case fEnv:
		j.Env = d.env(v, p)
	case fWorkDir:
		j.WorkDir = d.workdir(v, p)
	case fRestart:
		j.Restart.OnFailure = d.restart(v, p)
	case fMaxRetries:
		j.Restart.MaxRetries = int(d.integer(v, p, 0, maxRetries))
	case fDependsOn:
		j.DependsOn = d.deps(s, v, p)
	}
}

// fieldAliases are names other schedulers and habits give job fields.
var fieldAliases = map[string]string{
	"gpu": "gpus", "gpus_per_replica": "gpus", "gpu_models": "gpu_model",
	"model": "gpu_model", "priority": "priority_class", "memory": "memory_gib",
	"mem_gib": "memory_gib", "cpu": "cpus", "jurisdiction": "jurisdictions",
	"name": "id", "args": "command", "grace": "checkpoint_grace",
	"runtime": "runtime_limit", "walltime": "runtime_limit", "not_before": "earliest_start",
	"exclusive": "exclusive_node", "submitted": "submit_time",
	"environment": "env", "environ": "env", "variables": "env",
	"work_dir": "workdir", "working_dir": "workdir", "workingdir": "workdir",
	"cwd": "workdir", "dir": "workdir", "restart_policy": "restart",
	"retries": "max_retries", "max_retry": "max_retries", "max_restarts": "max_retries",
	"retry": "max_retries", "restarts": "max_retries",
	"dependency": "depends_on", "dependencies": "depends_on", "depends": "depends_on",
	"after": "depends_on", "afterok": "depends_on", "afterany": "depends_on", "afternotok": "depends_on", "needs": "depends_on",
}

// suggest returns a hint for a misspelt key, e.g. ` (did you mean "gpus"?)`:
// a known alias, the field it spells in another case, or the field (or
// alias) within two edits of it; else the list of fields.
func suggest(key string) string {
	k := strings.ToLower(strings.ReplaceAll(key, "-", "_"))
	if a, ok := fieldAliases[k]; ok {
		return fmt.Sprintf(" (did you mean %q?)", a)
	}
	if _, ok := fieldByName[k]; ok {
		return fmt.Sprintf(" (did you mean %q?)", k)
	}
	best, dist := "", 3
	if len(k) <= 4 {
		dist = 2 // one edit turns a short word into too many others
	}
	consider := func(cand, field string) {
		if d := typoDistance(k, cand); d < dist || d == dist && field < best {
			best, dist = field, d
		}
	}
	for _, f := range fieldNames {
		consider(f, f)
	}
	for a, f := range fieldAliases {
		consider(a, f)
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	names := append([]string(nil), fieldNames[:]...)
	sort.Strings(names)
	return " (known fields: " + strings.Join(names, ", ") + ")"
}

// typoDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and swaps of neighbours, one edit
// each. Keys longer than 64 bytes are not compared.
func typoDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+c)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func (d *decoder) str(v *yamlin.Node, p fieldPath) string {
	switch v.Kind {
	case yamlin.KindMap, yamlin.KindSeq, yamlin.KindNull:
		d.c.Add(v.Line, p.String(), "must be a string (got %s)", v.Describe())
		return ""
	}
	if len(v.Text) > maxStrLen {
		d.c.Add(v.Line, p.String(), "longer than %d bytes", maxStrLen)
		return ""
	}
	if !d.stored && strings.IndexByte(v.Text, 0) >= 0 {
		// Nothing needs one, and PostgreSQL refuses it in text.
		d.c.Add(v.Line, p.String(), "must not contain a NUL character")
	}
	return v.Text
}

func (d *decoder) integer(v *yamlin.Node, p fieldPath, lo, hi int64) int64 {
	if v.Kind == yamlin.KindFloat { // 1.5, 1e3, .inf, beyond int64
		d.c.Add(v.Line, p.String(), "%s", yamlin.IntegerProblem(v.Text, lo, hi))
		return lo
	}
	if v.Kind != yamlin.KindInt {
		d.c.Add(v.Line, p.String(), "must be an integer from %d to %d (got %s)", lo, hi, v.Describe())
		return lo
	}
	switch {
	case v.Int < lo:
		d.c.Add(v.Line, p.String(), "must be ≥ %d (got %d)", lo, v.Int)
		return lo
	case v.Int > hi:
		d.c.Add(v.Line, p.String(), "must be ≤ %d (got %d)", hi, v.Int)
		return lo
	}
	return v.Int
}

func (d *decoder) boolean(v *yamlin.Node, p fieldPath) bool {
	if v.Kind != yamlin.KindBool {
		d.c.Add(v.Line, p.String(), "must be true or false (got %s)", v.Describe())
	}
	return v.Bool
}

// strList accepts a list of scalars or a single scalar. Empty lists
// decode to nil.
func (d *decoder) strList(v *yamlin.Node, p fieldPath) []string {
	switch v.Kind {
	case yamlin.KindNull:
		return nil
	case yamlin.KindSeq:
	case yamlin.KindMap:
		d.c.Add(v.Line, p.String(), "must be a list of strings (got a mapping)")
		return nil
	default:
		return []string{d.str(v, p)}
	}
	if len(v.Items) > maxListLen {
		d.c.Add(v.Line, p.String(), "more than %d entries", maxListLen)
		return nil
	}
	if len(v.Items) == 0 {
		return nil
	}
	out := make([]string, len(v.Items))
	for i, it := range v.Items {
		out[i] = d.str(it, p.elem(i))
	}
	return out
}

// linearItems is how long a list may be before repeats checks it with a
// map.
const linearItems = 32

// repeats returns a function that reports whether its argument was given
// to it before, for a list of n items: a linear search for a short list,
// a map for one of more than linearItems, so that no line costs
// quadratic time.
func repeats(n int) func(string) bool {
	if n > linearItems {
		seen := make(map[string]bool, n)
		return func(s string) bool {
			dup := seen[s]
			seen[s] = true
			return dup
		}
	}
	seen := make([]string, 0, n)
	return func(s string) bool {
		dup := slices.Contains(seen, s)
		seen = append(seen, s)
		return dup
	}
}

// set is strList for a list whose order means nothing: an item given
// twice is refused on its own line, naming it (what says what it is, e.g.
// "GPU model"), or dropped when the decoder reads stored specs.
func (d *decoder) set(v *yamlin.Node, p fieldPath, what string) []string {
	list := d.strList(v, p)
	if v.Kind != yamlin.KindSeq || len(list) < 2 {
		return list
	}
	again := repeats(len(list))
	var kept []string // stored: the items once each
	for i, s := range list {
		dup := again(s) && s != "" // an empty item has its own message
		switch {
		case d.stored && !dup:
			kept = append(kept, s)
		case dup && !d.stored:
			d.c.Add(v.Items[i].Line, p.elem(i).String(), "%s %q is listed twice", what, yamlin.Truncate(s, 40))
		}
	}
	if d.stored {
		return kept
	}
	return list // the items keep their positions, which later messages name
}

// duration accepts integer seconds or a Go duration string, optionally
// led by whole days ("2d", "1d12h", "90m", "3600").
func (d *decoder) duration(v *yamlin.Node, p fieldPath) model.Duration {
	text := v.Text
	switch v.Kind {
	case yamlin.KindInt: // 0x10 and 1_000 are YAML integers, not durations ParseDuration reads
		if v.Int < 0 {
			d.c.Add(v.Line, p.String(), "must be ≥ 0 (got %d)", v.Int)
			return 0
		}
		text = strconv.FormatInt(v.Int, 10)
	case yamlin.KindFloat:
		d.c.Add(v.Line, p.String(), "%s", yamlin.DurationProblem(v.Text, int64(maxDuration), maxDuration.Readable()))
		return 0
	case yamlin.KindString:
	default:
		d.c.Add(v.Line, p.String(), `must be a duration such as "90m", "4h", "2d" or integer seconds (got %s)`, v.Describe())
		return 0
	}
	sec, err := parseDuration(text)
	if err != nil {
		d.c.Add(v.Line, p.String(), "%v", err)
		return 0
	}
	return sec
}

func parseDuration(s string) (model.Duration, error) {
	return model.ParseDuration(s, maxDuration)
}

// time accepts an RFC 3339 timestamp or integer Unix seconds.
func (d *decoder) timestamp(v *yamlin.Node, p fieldPath) model.Time {
	var t int64
	switch v.Kind {
	case yamlin.KindInt:
		t = v.Int
	case yamlin.KindFloat:
		d.c.Add(v.Line, p.String(), `%s Unix seconds, or an RFC 3339 time such as "2026-01-05T08:00:00Z"`, yamlin.IntegerProblem(v.Text, 1, maxTime))
		return 0
	case yamlin.KindString:
		var err error
		if t, err = parseTime(v.Text); err != nil {
			d.c.Add(v.Line, p.String(), "%v", err)
			return 0
		}
	default:
		d.c.Add(v.Line, p.String(), `must be an RFC 3339 time such as "2026-01-05T08:00:00Z" or integer Unix seconds (got %s)`, v.Describe())
		return 0
	}
	if t <= 0 || t > maxTime {
		d.c.Add(v.Line, p.String(), "must be after 1970-01-01T00:00:00Z and before year 10000 (got %d)", t)
		return 0
	}
	return model.Time(t)
}

func (d *decoder) topology(v *yamlin.Node, p fieldPath) model.Topology {
	t := model.Topology{Level: model.LevelAny}
	switch v.Kind {
	case yamlin.KindString:
		t.Level = d.level(v, p)
		return t
	case yamlin.KindMap:
	default:
		d.c.Add(v.Line, p.String(), "must be a level (nvlink, leaf, …) or {level: …, required: true|false} (got %s)", v.Describe())
		return t
	}
	seen := false
	for _, e := range v.Entries {
		switch e.Key {
		case "level":
			t.Level, seen = d.level(e.Val, p.sub(".level")), true
		case "required":
			t.Required = d.boolean(e.Val, p.sub(".required"))
		default:
			d.c.Unknown(e.Line, p.String(), e.Key, " (topology has level and required)")
		}
	}
	if !seen {
		d.c.Add(v.Line, p.sub(".level").String(), "is required")
	}
	return t
}

func (d *decoder) level(v *yamlin.Node, p fieldPath) model.TopologyLevel {
	l, ok := model.ParseLevel(v.Text)
	if v.Kind != yamlin.KindString || !ok {
		d.c.Add(v.Line, p.String(), "must be one of node, nvlink, leaf, rack, hall, site, any (got %s)", v.Describe())
		return model.LevelAny
	}
	return l
}

func parseTime(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf(`must be an RFC 3339 time such as "2026-01-05T08:00:00Z" or integer Unix seconds (got %q)`, yamlin.Truncate(s, 40))
	}
	if t.Nanosecond() != 0 {
		return 0, fmt.Errorf("must be whole seconds (got %q)", yamlin.Truncate(s, 40))
	}
	return t.Unix(), nil
}
