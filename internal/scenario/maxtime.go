package scenario

import (
	"fmt"

	"github.com/carnot-dc/carnot/internal/model"
)

// pastMaxTime refuses a workload with a job whose times reach past
// model.MaxTime: submitted, allowed to start or due after it, or whose
// runtime limit ends after it from its submission (or earliest start).
// A job file and a batch are held to it when they are read
// (jobspec); generate's start, shift_to and flexible's slack can move
// jobs there afterwards, so the problem is put at the one that did:
// flexible for a deadline past it, else shift_to, else generate.
// generated holds the indices of the generated jobs.
func (w WorkloadSpec) pastMaxTime(jobs []*model.Job, generated [2]int) error {
	for i, j := range jobs {
		end := j.LatestEnd()
		if j.Deadline <= model.MaxTime && end <= model.MaxTime {
			continue
		}
		what, hint := "job "+j.ID+" would end past", "give the jobs earlier times"
		key, path := "", "workload"
		switch {
		case end <= model.MaxTime && w.Flexible != nil:
			what, key, path, hint = "job "+j.ID+"'s deadline would be past", "flexible", "workload.flexible.slack", "give a smaller slack"
		case w.ShiftTo > 0:
			key, path, hint = "shift_to", "workload.shift_to", "give an earlier shift_to"
		case i >= generated[0] && i < generated[1]:
			key, path, hint = "generate", "workload.generate.start", "give an earlier start"
		}
		line := w.Line
		if l := w.At[key]; l > 0 {
			line = l
		}
		return setProblems{{Line: line, Path: path, Msg: fmt.Sprintf("%s %s, the latest time carnot can write; %s", what, model.MaxTime, hint)}}
	}
	return nil
}
