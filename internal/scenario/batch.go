package scenario

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
)

// jobs writes the batch as a job file and loads it back against fac, so
// that a batch is checked and resolved exactly like a job file. The
// problems the load finds are the batch's: they come back as
// setProblems at the batch's fields (batchProblems), not at lines of a
// file nobody wrote.
func (b *BatchSpec) jobs(fac *model.Facility) ([]*model.Job, error) {
	r := rand.New(rand.NewPCG(uint64(b.Seed), 0x5ca1ab1e))
	// Write gives every job's preemptible, which the read-back takes as
	// the job's own word: it is the class's, as for a generated job (an
	// unknown class is Load's error).
	preemptible := false
	if i := slices.IndexFunc(fac.PriorityClasses, func(pc model.PriorityClass) bool { return pc.Name == b.PriorityClass }); i >= 0 {
		preemptible = fac.PriorityClasses[i].Preemptible
	}
	jobs := make([]*model.Job, b.Jobs)
	width := len(strconv.Itoa(b.Jobs))
	for i := range jobs {
		submit := b.Start.Add(model.Duration(i)*b.Every + model.Duration(r.Int64N(int64(b.Every))))
		j := &model.Job{ID: fmt.Sprintf("b%0*d", width, i+1), Kind: model.KindJob, Tenant: b.Tenants[i%len(b.Tenants)],
			PriorityClass: b.PriorityClass, Preemptible: preemptible, Replicas: b.Replicas, GPUsPerReplica: b.GPUs, RuntimeLimit: b.Runtime,
			SubmitTime: submit, Topology: model.Topology{Level: model.LevelSite}}
		if b.Slack > 0 {
			j.EarliestStart, j.Deadline = submit, submit.Add(b.Runtime+b.Slack)
		}
		jobs[i] = j
	}
	if p := b.pastMaxTime(jobs); p != nil {
		return nil, setProblems{*p}
	}
	var buf bytes.Buffer
	if err := jobspec.Write(&buf, jobs); err != nil {
		return nil, fmt.Errorf("workload.batch: %w", err)
	}
	loaded, err := jobspec.Load("workload.batch.jsonl", buf.Bytes(), fac)
	var list jobspec.ErrorList
	if errors.As(err, &list) {
		return nil, b.problems(list, jobs)
	}
	if err != nil {
		return nil, fmt.Errorf("workload.batch: %w", err)
	}
	return loaded, nil
}

// pastMaxTime is the problem of a batch whose jobs reach past
// model.MaxTime, in the batch's words (start, runtime, slack) rather than
// those of the job file it writes (submit_time, runtime_limit, deadline,
// which holds a deadline past it as a bare number): a job submitted past
// it, else one whose runtime ends past it, else one due past it; nil when
// none is.
func (b *BatchSpec) pastMaxTime(jobs []*model.Job) *setProblem {
	if i := slices.IndexFunc(jobs, func(j *model.Job) bool { return j.SubmitTime > model.MaxTime }); i >= 0 {
		return &setProblem{Line: cmp.Or(b.At["start"], b.Line), Path: "workload.batch.start", Msg: fmt.Sprintf(
			"job %s would be submitted past %s, the latest time carnot can write "+
				"(job i at start + i·every and a jitter within every); give an earlier start, a shorter every or fewer jobs", jobs[i].ID, model.MaxTime)}
	}
	var late, due []string
	for _, j := range jobs {
		switch {
		case j.SubmitTime.Add(j.RuntimeLimit) > model.MaxTime:
			late = append(late, j.ID)
		case j.Deadline > model.MaxTime:
			due = append(due, j.ID)
		}
	}
	if len(late) > 0 {
		first := jobs[slices.IndexFunc(jobs, func(j *model.Job) bool { return j.ID == late[0] })]
		most := model.MaxTime.Sub(first.SubmitTime)
		return &setProblem{Line: cmp.Or(b.At["runtime"], b.Line), Path: "workload.batch.runtime", Msg: fmt.Sprintf(
			"%s from job %s's submission at %s ends past %s, the latest time carnot can write; give a runtime of at most %ds (%s) or an earlier start%s",
			b.Runtime.Readable(), first.ID, first.SubmitTime, model.MaxTime, most, most, whichFirst(late, len(jobs), true))}
	}
	if len(due) > 0 {
		return &setProblem{Line: cmp.Or(b.At["slack"], b.Line), Path: "workload.batch.slack", Msg: fmt.Sprintf(
			"the deadline (submission + runtime + slack) would be past %s, the latest time carnot can write; give a smaller slack or an earlier start%s",
			model.MaxTime, whichJobs(due, len(jobs)))}
	}
	return nil
}

// batchKey is the batch key that sets each job field the batch writes.
var batchKey = map[string]string{
	"id": "jobs", "tenant": "tenants", "priority_class": "priority_class", "replicas": "replicas",
	"gpus": "gpus", "runtime_limit": "runtime", "submit_time": "start",
	"earliest_start": "slack", "deadline": "slack",
}

// problems turns the problems of the written-out jobs into problems of
// the batch: each at the line and field of the set file that gave the
// job field (a tenant at its item of tenants), once for all the jobs
// it holds for, which it names.
func (b *BatchSpec) problems(list jobspec.ErrorList, jobs []*model.Job) setProblems {
	type at struct {
		line int
		path string
	}
	var order []at
	of, msg := map[at][]string{}, map[at][]string{}
	for _, e := range list {
		i, field := jobField(e.Path)
		key, ok := batchKey[field]
		p := at{line: b.Line, path: "workload.batch"}
		if ok {
			p.path += "." + key
			if l := b.At[key]; l > 0 {
				p.line = l
			}
		}
		if key == "tenants" && i >= 0 && i < len(jobs) && len(b.TenantAt) == len(b.Tenants) {
			k := slices.Index(b.Tenants, jobs[i].Tenant)
			p.path, p.line = fmt.Sprintf("%s[%d]", p.path, k), b.TenantAt[k]
		}
		if _, seen := of[p]; !seen {
			order = append(order, p)
		}
		id := ""
		if i >= 0 && i < len(jobs) {
			id = jobs[i].ID
		}
		of[p], msg[p] = append(of[p], id), append(msg[p], e.Msg)
	}
	out := make(setProblems, len(order))
	for n, p := range order {
		ms := msg[p]
		// where the jobs' own values differ (their times), the first's
		differ := slices.ContainsFunc(ms, func(m string) bool { return m != ms[0] })
		out[n] = setProblem{Line: p.line, Path: p.path, Msg: ms[0] + whichFirst(of[p], len(jobs), differ)}
	}
	return out
}

// jobField splits a job file's path "jobs[3].tenant" (or
// "jobs[3].gpu_model[0]") into the job's index and its field; -1 and ""
// for a path of no job.
func jobField(path string) (int, string) {
	rest, ok := strings.CutPrefix(path, "jobs[")
	idx, rest, ok2 := strings.Cut(rest, "]")
	i, err := strconv.Atoi(idx)
	if !ok || !ok2 || err != nil {
		return -1, ""
	}
	field, _ := strings.CutPrefix(rest, ".")
	if k := strings.IndexAny(field, ".["); k >= 0 {
		field = field[:k]
	}
	return i, field
}

// whichFirst says which of the batch's n jobs a problem holds for, as
// whichJobs, or, when its message is in the first job's words (theirs
// differ: their times), that it is the first's.
func whichFirst(ids []string, n int, firstsWords bool) string {
	if firstsWords && len(ids) > 1 {
		return fmt.Sprintf(" (job %s, and %d more of the %d jobs)", ids[0], len(ids)-1, n)
	}
	return whichJobs(ids, n)
}

// whichJobs says which of the batch's n jobs a problem holds for.
func whichJobs(ids []string, n int) string {
	ids = slices.DeleteFunc(ids, func(id string) bool { return id == "" })
	switch {
	case len(ids) == 0:
		return ""
	case len(ids) == n && n == 1:
		return " (its one job)"
	case len(ids) == n:
		return fmt.Sprintf(" (all %d jobs)", n)
	case len(ids) == 1:
		return fmt.Sprintf(" (job %s of %d)", ids[0], n)
	case len(ids) <= 3:
		return fmt.Sprintf(" (jobs %s of %d)", strings.Join(ids, ", "), n)
	}
	return fmt.Sprintf(" (%d of the %d jobs: %s, …)", len(ids), n, strings.Join(ids[:3], ", "))
}

// setProblems are problems at lines and fields of the scenario-set
// file, found after it was read; Prepare reports each where it is.
type setProblems []setProblem

type setProblem struct {
	Line      int
	Path, Msg string
}

func (ps setProblems) Error() string {
	var s strings.Builder
	for i, p := range ps {
		if i > 0 {
			s.WriteByte('\n')
		}
		fmt.Fprintf(&s, "line %d: %s: %s", p.Line, p.Path, p.Msg)
	}
	return s.String()
}
