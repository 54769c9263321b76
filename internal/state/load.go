package state

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// limits bound the YAML of a state file, so that a small or hostile file
// is refused instead of taking minutes or gigabytes (internal/yamlin's
// Limits; docs/state.md#limits). A state file lists what runs on a
// facility, which has at most 100,000 nodes: every node listed and
// running a job of its own is 19.6 MB, 3.9 million tokens and 1.9
// million values (TestLimitsHold).
var limits = yamlin.Limits{Bytes: 64 << 20, Marks: 5_000_000, Depth: yamlin.MaxDepth, Keys: 256, Values: 5_000_000}

// maxErrors bounds the problems reported for one file.
const maxErrors = 200

// topFields are the keys of a state file, in the order they are read.
var topFields = []string{"now", "nodes", "running", "usage", "recent_preemptions"}

// LoadFile reads the state file at path and decodes it with Load.
func LoadFile(path string, fac *model.Facility, jobs []*model.Job) (*State, error) {
	data, err := limits.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	return Load(path, data, fac, jobs)
}

// Load decodes a state file and checks it against the facility and the
// workload: jobs are every job the caller knows, running or not; running
// entries name them by ID. name is used in messages. On any problem Load
// returns no state and an ErrorList holding every problem, sorted by
// line. When the file gives now:, Load also runs CheckAt with it.
func Load(name string, data []byte, fac *model.Facility, jobs []*model.Job) (*State, error) {
	st, _, err := load(name, data, fac, jobs)
	return st, err
}

// load is Load; it also returns what reading the YAML cost, for the
// tests of hostile input.
func load(name string, data []byte, fac *model.Facility, jobs []*model.Job) (st *State, w yamlin.Work, err error) {
	if fac == nil {
		return nil, w, errors.New("state: a facility is needed to check a state file")
	}
	c := &yamlin.Collector{File: name, Max: maxErrors}
	defer func() {
		if r := recover(); r != nil {
			st, err = nil, ErrorList{{File: name, Msg: fmt.Sprintf("internal error while reading the file (%v); please report it with the file", r)}}
		}
	}()
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte-order mark
	r := &yamlin.Reader{Errs: c, Limits: limits, AliasNameLimit: 40}
	root := parse(r, data)
	w = r.Work
	if err := c.Err(); err != nil {
		return nil, w, err
	}
	l := newLoader(c, fac, jobs)
	l.st.file = name
	switch {
	case root == nil || root.Kind == yamlin.KindNull:
		// An empty file is an idle cluster: every job pending.
	default:
		l.root(root)
	}
	if err := c.Err(); err != nil {
		return nil, w, err
	}
	l.finish()
	if l.st.Now != 0 {
		if err := l.st.CheckAt(l.st.Now); err != nil {
			return nil, w, err
		}
	}
	return l.st, w, nil
}

// parse reads data as one YAML document with r. It returns nil, after
// recording the problem, when the document cannot be read.
func parse(r *yamlin.Reader, data []byte) (root *yamlin.Node) {
	c := r.Errs
	defer func() {
		// The parser is third-party code; a panic on hostile input
		// becomes an error, never a crash.
		if p := recover(); p != nil {
			root = nil
			c.Add(0, "", "YAML parser failed: %v", p)
		}
	}()
	docs := r.Docs(data)
	if len(docs) == 0 {
		return nil
	}
	root = r.Convert(docs[0])
	if len(docs) > 1 {
		c.Add(r.Line(docs[1]), "", "a state file holds one YAML document; remove the second one (after ---)")
		return nil
	}
	return root
}

// loader checks a decoded file against the facility and the workload.
type loader struct {
	d     *decoder
	c     *yamlin.Collector
	fac   *model.Facility
	st    *State
	nodes map[string]int          // facility node index by name
	names []string                // node names, for messages
	jobs  map[string][]*model.Job // workload jobs by ID
	ten   map[string]*model.Tenant
	all   []*model.Job

	running map[string]runAt // running job IDs
	held    map[gpuKey]runAt // GPUs held by running entries
	cpus    map[string]int   // CPUs held per node
	mem     map[string]int   // memory held per node
	refs    []ref            // job names that must be pending
	nodeAt  map[string]int   // node name → line of its nodes entry
	usageAt map[string]int   // tenant → line of its usage entry
}

type runAt struct {
	line int
	path string
	n    int // replicas running
	term bool
}

type gpuKey struct {
	node string
	gpu  int
}

// ref is a job name that must name a pending job (claimed_by, preempted_for).
type ref struct {
	line int
	path string
	id   string
}

func newLoader(c *yamlin.Collector, fac *model.Facility, jobs []*model.Job) *loader {
	l := &loader{
		d: &decoder{c: c}, c: c, fac: fac, st: &State{}, all: jobs,
		nodes: make(map[string]int, len(fac.Nodes)), jobs: make(map[string][]*model.Job, len(jobs)),
		ten: make(map[string]*model.Tenant, len(fac.Tenants)), running: map[string]runAt{},
		held: map[gpuKey]runAt{}, cpus: map[string]int{}, mem: map[string]int{},
		nodeAt: map[string]int{}, usageAt: map[string]int{},
	}
	for i, n := range fac.Nodes {
		l.nodes[n.Name] = i
		l.names = append(l.names, n.Name)
	}
	for _, j := range jobs {
		if j != nil {
			l.jobs[j.ID] = append(l.jobs[j.ID], j)
		}
	}
	for i := range fac.Tenants {
		l.ten[fac.Tenants[i].Name] = &fac.Tenants[i]
	}
	return l
}

// root reads the top-level mapping, key by key in a fixed order (now
// first: usage defaults to it; running before nodes: claims name
// pending jobs).
func (l *loader) root(r *yamlin.Node) {
	top := map[string]*yamlin.Node{}
	ok := l.d.c.Fields(r, "", "a state file", topFields, func(e yamlin.Entry) { top[e.Key] = e.Val })
	if !ok {
		return
	}
	if v := top["now"]; v != nil {
		l.st.Now, _ = l.d.timestamp(v, "now")
	}
	if v := top["running"]; v != nil {
		for i, it := range l.d.list(v, "running", "running jobs") {
			l.runEntry(it, index("running", i))
		}
	}
	if v := top["nodes"]; v != nil {
		for i, it := range l.d.list(v, "nodes", "node states") {
			l.nodeEntry(it, index("nodes", i))
		}
	}
	if v := top["usage"]; v != nil {
		for i, it := range l.d.list(v, "usage", "usage entries") {
			l.usageEntry(it, index("usage", i))
		}
	}
	if v := top["recent_preemptions"]; v != nil {
		for i, it := range l.d.list(v, "recent_preemptions", "times") {
			p := index("recent_preemptions", i)
			if t, ok := l.d.timestamp(it, p); ok {
				l.st.RecentPreemptions = append(l.st.RecentPreemptions, t)
				l.past(it.Line, p, t)
			}
		}
	}
	l.checkRefs()
}

// past records a time that must not lie after the pass time.
func (l *loader) past(line int, path string, t model.Time) {
	l.st.times = append(l.st.times, stamp{line, path, t})
}

// job looks up a workload job by ID, reporting unknown and ambiguous IDs.
func (l *loader) job(v *yamlin.Node, path string) *model.Job {
	id, ok := l.d.str(v, path)
	if !ok {
		return nil
	}
	js := l.jobs[id]
	switch len(js) {
	case 0:
		l.c.Add(v.Line, path, "no job %q in the workload; add its spec to a --workload file or fix the id", yamlin.Truncate(id, 40))
		return nil
	case 1:
		return js[0]
	}
	l.c.Add(v.Line, path, "%d jobs of the workload have id %q; give them distinct ids", len(js), yamlin.Truncate(id, 40))
	return nil
}

// checkRefs checks that claims and preemptions name pending jobs.
func (l *loader) checkRefs() {
	for _, r := range l.refs {
		if ra, ok := l.running[r.id]; ok && !l.staysPending(r.id, ra) {
			l.c.Add(r.line, r.path, "job %q runs (%s, line %d); name a pending job, the one the GPUs are freed for", yamlin.Truncate(r.id, 40), ra.path, ra.line)
		}
	}
}

// staysPending reports whether a running job also stays pending: a
// deployment, not under notice, with fewer replicas than it wants.
func (l *loader) staysPending(id string, ra runAt) bool {
	js := l.jobs[id]
	if len(js) != 1 {
		return false
	}
	j := js[0]
	return j.Kind == model.KindDeployment && !ra.term && ra.n < j.Replicas
}

// finish lists the pending jobs.
func (l *loader) finish() {
	l.st.Pending = make([]*model.Job, 0, len(l.all))
	for _, j := range l.all {
		if j == nil {
			continue
		}
		if ra, ok := l.running[j.ID]; ok && !l.staysPending(j.ID, ra) {
			continue
		}
		l.st.Pending = append(l.st.Pending, j)
	}
}
