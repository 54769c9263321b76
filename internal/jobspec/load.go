package jobspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// Limits on the input, so that a small or hostile file is refused
// instead of taking minutes or gigabytes (internal/yamlin's Limits;
// docs/jobspec.md#limits has the measurements behind them). A workload
// can be large, so the YAML limits are per document (a file holds as
// many as it likes, split by ---) and the JSON Lines ones per line; the
// whole file is bounded only far above any workload, so that reading it
// into memory cannot exhaust it.
var (
	// fileLimits: 1,000,000 jobs from carnot workload generate --bench
	// are 313 MB of JSON Lines, which load in 16 s and 1.4 GB.
	fileLimits = yamlin.Limits{Bytes: 1 << 30, Advice: "split the workload into several files"}
	// docLimits are the facility's (internal/facility): 50,000 of those
	// jobs as one YAML list are 15.8 MB, which load in 19 to 21 s and 1.9 GB.
	docLimits = yamlin.Limits{Bytes: 16 << 20, Marks: 5_000_000, Depth: yamlin.MaxDepth, Keys: 256, Values: 10_000_000,
		What: "the document", Advice: "split the jobs into several documents (---) or write them as JSON Lines"}
	// lineLimits: the largest job the field limits allow (4,096
	// command arguments of 1,024 bytes, 256 env variables of 32 KiB) is
	// 12.6 MB and 201,745 values (TestJSONLLimits).
	lineLimits = yamlin.Limits{Bytes: 16 << 20, Depth: yamlin.MaxDepth, Values: 1 << 20, What: "the line"}
)

// LoadFile reads a job file and decodes it with Load. The format follows
// the extension: .jsonl and .ndjson are JSON Lines, anything else is YAML
// (which includes JSON). With fac, a job naming a data class fac does not
// define is an error also when fac defines none, as on the live server
// and the twin (carnot schedule and carnot workload validate read files
// with it).
func LoadFile(path string, fac *model.Facility) ([]*model.Job, error) {
	jobs, _, err := loadFile(path, fac, mode{twin: true})
	return jobs, err
}

// LoadFileToReplay is LoadFile for a replay on the digital twin, which
// submits each job at its submit_time: a job without one is an error too
// (the twin would submit it at time 0, which its results read as
// "never"), and so is one whose replicas ask for no GPUs, CPUs or memory
// even when fac is nil (the twin would never start it). A job naming a
// data class that fac does not define is an error also when fac defines
// none, as on the live server (the core would take the class for a
// label and run the job on any site). An afternotok dependency is an
// error: the twin's jobs never fail, so the job would never run.
func LoadFileToReplay(path string, fac *model.Facility) ([]*model.Job, error) {
	jobs, _, err := loadFile(path, fac, mode{replay: true, twin: true, sim: true})
	return jobs, err
}

// LoadFileGiven is LoadFileToReplay (LoadFile when replay is false) that
// also returns, for each job, the fields its file wrote: a job that wrote
// preemptible keeps its word on another facility, one that did not takes
// that facility's class's. It is for the twin: a data class fac does not
// define is an error, as for LoadFileToReplay, and so is an afternotok
// dependency, which the twin cannot replay.
func LoadFileGiven(path string, fac *model.Facility, replay bool) ([]*model.Job, []Given, error) {
	return loadFile(path, fac, mode{replay: replay, twin: true, sim: true})
}

// Given says which fields a job file wrote for one job.
type Given struct {
	at   [numFields]int32
	line int32
}

// Line is the line the file wrote the job's field name on, else the line
// the job starts on; an unknown name gives the job's line too.
func (g Given) Line(name string) int {
	if f, ok := fieldByName[name]; ok && g.at[f] != 0 {
		return int(g.at[f])
	}
	return int(g.line)
}

// Has reports whether the file wrote the job's field name (a key of the
// job format: "preemptible", "priority_class", …).
func (g Given) Has(name string) bool {
	f, ok := fieldByName[name]
	return ok && g.at[f] != 0
}

// LoadFileToSubmit is LoadFile for `carnot submit`, without a facility.
// It also returns, for each job, the fields its file wrote (the server
// chooses the others), and it refuses,
// with their lines, what the live control plane refuses of any job (no
// command; no GPUs, CPUs or memory), so that such a job stops the
// submission before anything is sent instead of after the jobs above it.
func LoadFileToSubmit(path string) ([]*model.Job, []Given, error) {
	return loadFile(path, nil, mode{submit: true})
}

// LoadToSubmit is LoadFileToSubmit for a job file read from r (standard
// input), named name in messages and automatic IDs. With no file name to
// tell its format by, it is JSON Lines when it holds one JSON object per
// line, else YAML (which includes JSON).
func LoadToSubmit(name string, r io.Reader) ([]*model.Job, []Given, error) {
	data, err := fileLimits.Read(name, r)
	if err != nil {
		return nil, nil, fmt.Errorf("read job file: %w", err)
	}
	// no name to tell the format by: one JSON object a line is JSON
	// Lines, as a .json file holding them is reported to be
	jsonl := secondJSONLine(".json", data) > 0
	jobs, given, _, err := loadGiven(name, data, nil, mode{submit: true, jsonl: jsonl})
	var list ErrorList
	if !jsonl && errors.As(err, &list) && len(list) > 0 && strings.HasPrefix(list[0].Msg, "invalid YAML: ") {
		// JSON (a program's output piped in) that is not: the error in
		// JSON's words, as for a .json file
		if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
			if line, column, msg := yamlin.JSONSyntax(".json", data); msg != "" {
				return nil, nil, ErrorList{{File: name, Line: line, Msg: fmt.Sprintf("invalid JSON: column %d: %s", column, msg)}}
			}
		}
	}
	return jobs, given, err
}

// loadFile reads the job file at path, within fileLimits, and decodes
// it as m asks.
func loadFile(path string, fac *model.Facility, m mode) ([]*model.Job, []Given, error) {
	data, err := fileLimits.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read job file: %w", err)
	}
	jobs, given, _, err := loadGiven(path, data, fac, m)
	return jobs, given, err
}

// Load decodes the jobs in data. name is used for messages, to pick the
// format (see LoadFile) and for automatic IDs. When fac is non-nil the
// jobs are also checked against it (a job whose replicas ask for no
// GPUs, CPUs or memory, which no facility runs, is an error then) and
// Preemptible is resolved from the priority class. On any problem Load returns no jobs and an ErrorList
// holding every problem, sorted by line.
func Load(name string, data []byte, fac *model.Facility) ([]*model.Job, error) {
	jobs, _, err := load(name, data, fac, mode{})
	return jobs, err
}

// Reload decodes jobs this program wrote earlier (Write, Marshal), as
// Load without a facility does, but keeps what earlier versions accepted
// and Load now refuses: a gpu_model or jurisdictions list naming an item
// twice reads with each item once. The server reads its stored specs
// with it, so that such a job does not stop a restart.
func Reload(name string, data []byte) ([]*model.Job, error) {
	jobs, _, err := load(name, data, nil, mode{stored: true})
	return jobs, err
}

// mode is what a caller of load asks beyond the file format.
type mode struct {
	stored bool // Reload: keep what earlier versions accepted
	replay bool // LoadFileToReplay: every job needs submit_time
	submit bool // LoadFileToSubmit: every job needs what the server does
	jsonl  bool // JSON Lines whatever the name (LoadToSubmit)
	twin   bool // for the twin: a data class the facility does not define is an error
	sim    bool // the twin runs the jobs (carnot sim, carnot plan): an afternotok dependency is an error
}

// load is Load and Reload; it also returns what reading the file cost,
// for the tests of hostile input.
func load(name string, data []byte, fac *model.Facility, m mode) ([]*model.Job, yamlin.Work, error) {
	jobs, _, w, err := loadGiven(name, data, fac, m)
	return jobs, w, err
}

// loadGiven is load that also returns the fields each job's file wrote.
func loadGiven(name string, data []byte, fac *model.Facility, m mode) ([]*model.Job, []Given, yamlin.Work, error) {
	var w yamlin.Work
	if len(data) > fileLimits.Bytes {
		return nil, nil, w, ErrorList{{File: name, Msg: fileLimits.SizeProblem(int64(len(data)))}}
	}
	c := &yamlin.Collector{File: name}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte-order mark
	col := &collector{d: &decoder{c: c, stored: m.stored}}
	if m.jsonl || isJSONL(name) {
		w = readJSONL(data, c, col.root) // line by line: no tree outlives its line
	} else if line := secondJSONLine(name, data); line > 0 {
		c.Add(line, "", "a second JSON value: one JSON object per line is JSON Lines; name the file .jsonl (a .json file holds one value, e.g. a list of jobs)")
	} else if line, column, msg := yamlin.JSONSyntax(name, data); msg != "" {
		c.Add(line, "", "invalid JSON: column %d: %s", column, msg)
	} else {
		var roots []*yamlin.Node
		roots, w = readYAML(data, c)
		for _, r := range roots {
			col.root(r)
		}
	}
	// Jobs that decoded are checked even when others did not, so that
	// one pass shows as many problems as it can.
	finish(name, col.specs, fac, c, m.stored)
	if m.replay {
		needSubmitTimes(col.specs, c)
	}
	if m.twin {
		needDataClasses(col.specs, fac, c)
	}
	if m.sim {
		needReplayableDeps(col.specs, c)
	}
	switch {
	case m.submit:
		needRunnable(col.specs, c)
	case m.replay || fac != nil:
		// a job that is to run, on the twin or on this facility
		for _, s := range col.specs {
			needResources(s, c)
		}
	}
	if err := c.Err(); err != nil {
		return nil, nil, w, err
	}
	slab := make([]model.Job, len(col.specs)) // lets the specs go
	jobs := make([]*model.Job, len(col.specs))
	given := make([]Given, len(col.specs))
	for i, s := range col.specs {
		slab[i] = s.job
		jobs[i] = &slab[i]
		given[i] = Given{at: s.at, line: int32(s.line)}
	}
	return jobs, given, w, nil
}

func isJSONL(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".jsonl" || ext == ".ndjson"
}

// secondJSONLine is the line of the second object of a .json file that
// holds one JSON object per line (JSON Lines under another name, which
// the YAML parser refuses with a message about YAML), or 0.
func secondJSONLine(name string, data []byte) int {
	if strings.ToLower(filepath.Ext(name)) != ".json" {
		return 0
	}
	objects := 0
	for line := 1; len(data) > 0; line++ {
		var l []byte
		l, data, _ = bytes.Cut(data, []byte{'\n'})
		l = bytes.TrimSpace(l)
		switch {
		case len(l) == 0:
			continue
		case l[0] != '{' || l[len(l)-1] != '}':
			return 0
		}
		if objects++; objects == 2 {
			return line
		}
	}
	return 0
}

// readYAML parses YAML (or JSON) into one root node per document.
//
// Documents are split on their "---" markers here and parsed one by one:
// goccy/go-yaml v1.19 silently drops every document after an empty one,
// and a marker at column 0 always starts a document in YAML, so the split
// is exact. It also lets a syntax error in one document leave the others
// checked, and bounds each document on its own (docLimits).
func readYAML(data []byte, c *yamlin.Collector) (roots []*yamlin.Node, w yamlin.Work) {
	for _, ch := range splitDocs(data) {
		r := &yamlin.Reader{Errs: c, Offset: ch.offset, Limits: docLimits}
		roots = append(roots, readYAMLDoc(r, ch.data)...)
		w.Tokens += r.Work.Tokens
		w.Values += r.Work.Values
	}
	return roots, w
}

type chunk struct {
	data   []byte
	offset int // lines before the chunk
}

// splitDocs cuts data before each "---" marker at column 0 (see
// readYAML). Directives ("%YAML 1.2", "%TAG …") belong to the document whose "---"
// follows them, so the cut goes before them: a '%' at column 0 can only
// start a directive, which comes at the start of the file or after a
// "..." line.
func splitDocs(data []byte) []chunk {
	var out []chunk
	start, startLine := 0, 0
	dir, dirLine := -1, 0 // the first directive before the next "---", if any
	for pos, line := 0, 0; pos < len(data); line++ {
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos + 1
		}
		l := data[pos:end]
		switch t := bytes.TrimSpace(l); {
		case bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\n' || l[3] == '\r'):
			cut, cutLine := pos, line
			if dir >= 0 {
				cut, cutLine = dir, dirLine
			}
			if cut > start {
				out = append(out, chunk{data[start:cut], startLine})
				start, startLine = cut, cutLine
			}
			dir = -1
		case len(l) > 0 && l[0] == '%':
			if dir < 0 {
				dir, dirLine = pos, line
			}
		case len(t) > 0 && t[0] != '#':
			dir = -1 // content: a '%' line before it was none of the next document's
		}
		pos = end
	}
	return append(out, chunk{data[start:], startLine})
}

func readYAMLDoc(r *yamlin.Reader, data []byte) (roots []*yamlin.Node) {
	defer func() {
		// The parser is third-party code; a panic on hostile input
		// becomes an error, never a crash.
		if p := recover(); p != nil {
			roots = nil
			r.Errs.Add(r.Offset+1, "", "YAML parser failed: %v", p)
		}
	}()
	for _, body := range r.Docs(data) {
		roots = append(roots, r.Convert(body))
	}
	return roots
}

// readJSONL parses one JSON value per non-blank line and hands each job
// object to emit. Each line is bounded on its own (lineLimits).
func readJSONL(data []byte, c *yamlin.Collector, emit func(*yamlin.Node)) (w yamlin.Work) {
	sc := newJSONScanner()
	for line := 1; len(data) > 0; line++ {
		var l []byte
		l, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		if len(l) > lineLimits.Bytes {
			c.Add(line, "", "%s", lineLimits.SizeProblem(int64(len(l))))
			continue
		}
		n, err := sc.parseLine(l, line)
		w.Values += sc.budget.Spent
		var over *overError
		switch {
		case errors.As(err, &over):
			c.Add(line, "", "%s", lineLimits.ValuesProblem())
			continue
		case err != nil:
			c.Add(line, "", "invalid JSON: %v", err)
			continue
		}
		switch n.Kind {
		case yamlin.KindSeq:
			c.Add(line, "", "each JSONL line must hold one job object (got a list)")
			continue
		case yamlin.KindNull: // not blank: a job its writer could not write
			c.Add(line, "", "each JSONL line must hold one job object (got null)")
			continue
		}
		emit(n)
	}
	return w
}

// collector turns documents into specs, numbering jobs across them.
type collector struct {
	d     *decoder
	specs []*spec
	idx   int
}

func (col *collector) add(n *yamlin.Node) {
	if s := col.d.job(n, col.idx); s != nil {
		col.specs = append(col.specs, s)
	}
	col.idx++
}

// root finds the jobs in one document: a job mapping, a list of jobs, or
// a mapping with the single key "jobs" holding a list.
func (col *collector) root(r *yamlin.Node) {
	c := col.d.c
	switch {
	case r.Kind == yamlin.KindSeq:
		for _, it := range r.Items {
			col.add(it)
		}
	case r.Kind == yamlin.KindMap && r.Get("jobs") != nil:
		for _, e := range r.Entries {
			if e.Key != "jobs" {
				// often a block of defaults to anchor (docker compose's
				// x-… keys): say where anchors go instead
				c.Add(e.Line, "", "unknown top-level field %q next to jobs: a file with jobs: holds nothing else; "+
					"to write shared fields once, anchor them on a job (- &base {...}) and merge them into the others (<<: *base)", yamlin.Truncate(e.Key, 40))
			}
		}
		l := r.Get("jobs")
		if l.Kind != yamlin.KindSeq {
			c.Add(l.Line, "jobs", "must be a list of jobs (got %s)", l.Describe())
			return
		}
		for _, it := range l.Items {
			col.add(it)
		}
	case r.Kind == yamlin.KindMap:
		col.add(r)
	case r.Kind == yamlin.KindNull:
	default:
		c.Add(r.Line, "", "expected a job, a list of jobs or {jobs: [...]} (got %s)", r.Describe())
	}
}
