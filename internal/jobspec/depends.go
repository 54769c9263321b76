package jobspec

import (
	"fmt"
	"strings"

	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/yamlin"
)

// maxDependsOn bounds a job's depends_on.
const maxDependsOn = 64

// depForms is how a dependency may be written, for messages.
const depForms = `a job ID, "type:id" or {type: id}, the type afterok, afterany or afternotok`

// deps decodes depends_on: one dependency or a list of them, each a job
// ID (afterok), "type:id" (Slurm's spelling, e.g. "afterany:train") or a
// mapping of one key, {type: id} (YAML's `- afterany: train`). A job
// named twice is refused on its item's line, or dropped when the
// decoder reads stored specs.
func (d *decoder) deps(s *spec, v *yamlin.Node, p fieldPath) []model.Dependency {
	items := []*yamlin.Node{v}
	switch v.Kind {
	case yamlin.KindNull:
		return nil
	case yamlin.KindSeq:
		if len(v.Items) > maxListLen {
			d.c.Add(v.Line, p.String(), "more than %d entries", maxListLen)
			return nil
		}
		items = v.Items
		if !d.stored {
			s.depLines = itemLines(v, s.at[fDependsOn])
		}
	}
	if len(items) == 0 {
		return nil
	}
	out := make([]model.Dependency, 0, len(items))
	again := repeats(len(items))
	for i, it := range items {
		ip := p
		if v.Kind == yamlin.KindSeq {
			ip = p.elem(i)
		}
		dep := d.dep(it, ip)
		dup := again(dep.Job)
		switch {
		case !dup || dep.Job == "": // an empty ID has its own message
		case d.stored:
			continue
		default:
			d.c.Add(it.Line, ip.String(), "job %q is listed twice", yamlin.Truncate(dep.Job, 40))
		}
		out = append(out, dep) // the items keep their positions, which later messages name
	}
	return out
}

// dep decodes one item of depends_on (deps).
func (d *decoder) dep(v *yamlin.Node, p fieldPath) model.Dependency {
	switch v.Kind {
	case yamlin.KindMap:
		if len(v.Entries) != 1 {
			d.c.Add(v.Line, p.String(), "must be %s; a mapping holds one type and one job (got %d keys)", depForms, len(v.Entries))
			return model.Dependency{}
		}
		e := v.Entries[0]
		t, ok := d.depType(e.Key, e.Line, p)
		if e.Val.Kind == yamlin.KindMap || e.Val.Kind == yamlin.KindSeq || e.Val.Kind == yamlin.KindNull {
			d.c.Add(e.Line, p.String(), "%s: must be one job ID (got %s); write one item per job", e.Key, e.Val.Describe())
			return model.Dependency{}
		}
		id := d.str(e.Val, p)
		if !ok {
			return model.Dependency{}
		}
		return model.Dependency{Job: id, Type: t}
	case yamlin.KindSeq, yamlin.KindNull:
		d.c.Add(v.Line, p.String(), "must be %s (got %s)", depForms, v.Describe())
		return model.Dependency{}
	}
	text := d.str(v, p)
	name, id, typed := strings.Cut(text, ":")
	if !typed {
		return model.Dependency{Job: text}
	}
	t, ok := d.depType(name, v.Line, p)
	switch {
	case !ok:
		return model.Dependency{}
	case strings.Contains(id, ":"):
		d.c.Add(v.Line, p.String(), "%q names several jobs: write one item per job, e.g. %q", yamlin.Truncate(text, 40),
			yamlin.Truncate(name+":"+id[:strings.IndexByte(id, ':')], 40))
		return model.Dependency{}
	}
	return model.Dependency{Job: id, Type: t}
}

// depType parses a dependency type written on line.
func (d *decoder) depType(name string, line int, p fieldPath) (model.DepType, bool) {
	t, ok := model.ParseDepType(name)
	if !ok {
		hint := ""
		if l, k := model.ParseDepType(strings.ToLower(name)); k {
			hint = fmt.Sprintf(" (did you mean %q?)", l)
		}
		d.c.Add(line, p.String(), "unknown dependency type %q: afterok (the job succeeded; also a plain ID), "+
			"afterany (it ended) or afternotok (it failed or was cancelled)%s", yamlin.Truncate(name, 40), hint)
	}
	return t, ok
}

// checkDependsOn checks each job's depends_on: IDs in the id format, not
// the job itself, at most maxDependsOn, none naming a job later in the
// same file (jobs are submitted in file order, and a dependency must
// exist when its dependent is submitted; so no cycle can form), and no
// afterok on a deployment of the file (it runs until stopped, which
// cancels it: the server and the twin refuse it too).
func checkDependsOn(specs []*spec, c *yamlin.Collector) {
	pos := make(map[string]int, len(specs))
	for i, s := range specs {
		if !s.bad[fID] {
			if _, ok := pos[s.job.ID]; !ok {
				pos[s.job.ID] = i
			}
		}
	}
	for i, s := range specs {
		deps := s.job.DependsOn
		if len(deps) == 0 || s.bad[fDependsOn] {
			continue
		}
		if len(deps) > maxDependsOn {
			c.Add(s.lineOf(fDependsOn), s.fpath(fDependsOn), "at most %d jobs (got %d)", maxDependsOn, len(deps))
			continue
		}
		for n, dep := range deps {
			line, path, d := s.itemLine(fDependsOn, n), fmt.Sprintf("%s[%d]", s.fpath(fDependsOn), n), dep.Job
			switch k, inFile := pos[d]; {
			case d == "":
				c.Add(line, path, "must not be empty")
			case !validID(d):
				c.Add(line, path, "%q is not a job id: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", yamlin.Truncate(d, 40))
			case d == s.job.ID:
				c.Add(line, path, "a job cannot depend on itself (%q)", d)
			case inFile && k > i:
				c.Add(line, path, "job %q comes later in the file (line %d); jobs are submitted in file order, so list it before this one", d, specs[k].lineOf(fID))
			case inFile && k < i && dep.Type == model.AfterOK && specs[k].job.Kind == model.KindDeployment:
				c.Add(line, path, "%q (line %d) is a deployment: it runs until stopped, which ends it cancelled, not succeeded, "+
					"so afterok would not be met; to start once it ends, write %q", d, specs[k].lineOf(fID), "afterany:"+d)
			}
		}
	}
}

// needReplayableDeps reports, for the twin, every afternotok dependency:
// the twin's jobs never fail (a preemption or a node failure queues a job
// again), so such a job would never run there, and its place in the
// results (a job that never started) would read as a shortage of
// capacity.
func needReplayableDeps(specs []*spec, c *yamlin.Collector) {
	for _, s := range specs {
		for n, dep := range s.job.DependsOn {
			if dep.Type == model.AfterNotOK {
				c.Add(s.itemLine(fDependsOn, n), fmt.Sprintf("%s[%d]", s.fpath(fDependsOn), n),
					"%q: the digital twin cannot replay afternotok: its jobs never fail, so this job would never run; "+
						"leave the job out of the workload to replay, or make it afterany", dep.String())
			}
		}
	}
}
