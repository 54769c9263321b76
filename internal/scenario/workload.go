package scenario

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"

	"github.com/carnot-dc/carnot/internal/jobspec"
	"github.com/carnot-dc/carnot/internal/model"
	"github.com/carnot-dc/carnot/internal/workload"
)

// jobs builds the workload on fac: the jobs of its sources (file, then
// generate, then batch), then shift_to, then flexible. The facility is the base one; variants keep its tenants,
// classes and models, so the jobs fit every variant (one that names
// another facility file is checked for them: misfit).
//
// own holds the IDs of the file's jobs that say whether they are
// preemptible; the others are as their class is (forFacility).
func (w WorkloadSpec) jobs(fac *model.Facility) (jobs []*model.Job, own map[string]bool, err error) {
	own = map[string]bool{}
	if w.File != "" {
		// every job needs its submit time, unless shift_to gives it one
		js, given, err := jobspec.LoadFileGiven(w.File, fac, w.ShiftTo == 0)
		if err != nil {
			return nil, nil, errors.New(fileProblem(w.File, jobspec.Brief(err)))
		}
		for i, j := range js {
			if given[i].Has("preemptible") {
				own[j.ID] = true
			}
		}
		jobs = append(jobs, js...)
	}
	generated := [2]int{len(jobs), len(jobs)} // the generated jobs' indices
	if g := w.Generate; g != nil {
		js := workload.Generate(fac, g.Jobs, g.Seed, g.Start)
		if len(js) == 0 {
			return nil, nil, fmt.Errorf("workload.generate: no tenant of the facility can use a GPU, so no job can be generated")
		}
		if g.Load > 0 {
			js = withLoad(js, fac, g.Start, g.Load)
		}
		jobs = append(jobs, js...)
		generated[1] = len(jobs)
	}
	if w.Batch != nil {
		js, err := w.Batch.jobs(fac)
		if err != nil {
			return nil, nil, err
		}
		jobs = append(jobs, js...)
	}
	if len(jobs) == 0 {
		return nil, nil, fmt.Errorf("workload: no jobs")
	}
	seen := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		if seen[j.ID] {
			return nil, nil, fmt.Errorf("workload: job id %s comes from two sources; give the file's jobs other ids than j0000001… (generate) and b1… (batch)", j.ID)
		}
		seen[j.ID] = true
	}
	out := make([]*model.Job, len(jobs))
	for i, j := range jobs {
		c := *j
		out[i] = &c
	}
	if w.ShiftTo > 0 {
		shift(out, w.ShiftTo)
	}
	if w.Flexible != nil {
		w.Flexible.apply(out)
	}
	if err := w.pastMaxTime(out, generated); err != nil {
		return nil, nil, err
	}
	return out, own, nil
}

// forFacility returns jobs with each one's preemptibility as its class
// has it on f, but for those in own (their file said); jobs itself when
// that changes none, else copies.
func forFacility(jobs []*model.Job, own map[string]bool, f *model.Facility) []*model.Job {
	classes := map[string]bool{}
	for _, pc := range f.PriorityClasses {
		classes[pc.Name] = pc.Preemptible
	}
	var out []*model.Job
	for i, j := range jobs {
		pre, ok := classes[j.PriorityClass]
		if !ok || own[j.ID] || pre == j.Preemptible {
			continue
		}
		if out == nil {
			out = slices.Clone(jobs)
		}
		c := *j
		c.Preemptible = pre
		out[i] = &c
	}
	if out == nil {
		return jobs
	}
	return out
}

// withLoad returns copies of jobs with their submissions spread out (or
// packed) from start so that they offer load: the GPU-seconds of their
// runtime limits over the facility's GPU-seconds between start and the
// last submission. Windows move with their job.
func withLoad(jobs []*model.Job, fac *model.Facility, start model.Time, load float64) []*model.Job {
	var demand float64
	for _, j := range jobs {
		demand += float64(j.TotalGPUs()) * float64(j.RuntimeLimit)
	}
	_, last := span(jobs)
	gpus := 0
	for _, n := range fac.Nodes {
		gpus += max(0, n.GPUs)
	}
	if last <= start || gpus == 0 || demand == 0 {
		return jobs
	}
	factor := demand / (float64(gpus) * float64(last-start)) / load
	out := make([]*model.Job, len(jobs))
	for i, j := range jobs {
		c := *j
		d := start + model.Time(math.Round(float64(j.SubmitTime-start)*factor)) - j.SubmitTime
		c.SubmitTime += d
		if c.EarliestStart > 0 {
			c.EarliestStart += d
		}
		if c.Deadline > 0 {
			c.Deadline += d
		}
		out[i] = &c
	}
	return out
}

// shift moves every job's times by the same amount so that the first
// submission lands at to; a job without a submit time gets to. When no
// job has one, the amount is the one that puts the window that must
// open first (an earliest start, or a deadline less the runtime) at to,
// so that every window keeps its place among the others and can still
// be met from the submissions.
func shift(jobs []*model.Job, to model.Time) {
	first := model.Time(0)
	for _, j := range jobs {
		if j.SubmitTime > 0 && (first == 0 || j.SubmitTime < first) {
			first = j.SubmitTime
		}
	}
	if first == 0 {
		first = firstWindow(jobs)
	}
	d := to - first
	if first == 0 {
		d = 0 // no submit time and no window: only the submit times are set
	}
	for _, j := range jobs {
		for _, t := range []*model.Time{&j.SubmitTime, &j.EarliestStart, &j.Deadline} {
			if *t > 0 && *t < model.Forever {
				*t += d
			}
		}
		if j.SubmitTime == 0 {
			j.SubmitTime = to
		}
	}
}

// firstWindow is the earliest time a window of jobs opens: an earliest
// start, or a deadline less the runtime; 0 when no job has a window.
func firstWindow(jobs []*model.Job) model.Time {
	var first model.Time
	for _, j := range jobs {
		open := j.EarliestStart
		if open == 0 && j.Deadline > 0 && j.Deadline < model.Forever {
			open = j.Deadline - model.Time(j.RuntimeLimit)
		}
		if open > 0 && (first == 0 || open < first) {
			first = open
		}
	}
	return first
}

// apply gives the chosen gang jobs with a runtime limit and no deadline
// a window of their runtime plus Slack from their submission.
func (f *FlexibleSpec) apply(jobs []*model.Job) {
	for _, j := range jobs {
		if j.Kind != model.KindJob || j.RuntimeLimit <= 0 || j.Deadline > 0 || j.SubmitTime <= 0 {
			continue
		}
		if unit(j.ID) >= f.Share {
			continue
		}
		j.EarliestStart = max(j.EarliestStart, j.SubmitTime)
		j.Deadline = j.EarliestStart.Add(j.RuntimeLimit + f.Slack)
	}
}

// unit maps an ID to [0, 1) by a hash, so the choice of flexible jobs
// does not depend on their order. FNV-1a alone hardly moves its top bits
// for IDs that differ in their last characters (j0000001 … j0000600 all
// fell in [0.36, 0.60), so share 0.3 chose none of them): MurmurHash3's
// finalizer mixes every bit into the top ones first.
func unit(id string) float64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return float64(x>>11) / (1 << 53)
}

// span is the first and last submission of jobs.
func span(jobs []*model.Job) (first, last model.Time) {
	for _, j := range jobs {
		if first == 0 || j.SubmitTime < first {
			first = j.SubmitTime
		}
		last = max(last, j.SubmitTime)
	}
	return first, last
}

// copyJobs gives a run its own job structs (slices inside stay shared
// and read-only).
func copyJobs(jobs []*model.Job) []*model.Job {
	out := slices.Clone(jobs)
	for i, j := range jobs {
		c := *j
		out[i] = &c
	}
	return out
}
