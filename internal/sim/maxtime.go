package sim

import (
	"fmt"
	"math"

	"github.com/carnot-dc/carnot/internal/model"
)

// pastMaxTime is the error of a run whose next instant, now, is past
// model.MaxTime: its times could not be written (RFC 3339 has four
// digits for the year), so it stops there. It names the job of the next
// event, where there is one.
func (t *twin) pastMaxTime(now model.Time) error {
	what := "the run would go on"
	var js *jobState
	if t.q.arriving() {
		js, what = t.q.arrivals[t.q.next].js, "would arrive"
	} else if e := t.q.h[0]; e.job != nil {
		js, what = e.job, map[eventKind]string{evCompletion: "would end", evEviction: "would be evicted"}[e.kind]
		if what == "" {
			what = "would have an event"
		}
	}
	if js != nil {
		what = "job " + js.job.ID + " " + what
	}
	return fmt.Errorf("sim: %s %s after the end of year 9999, past %s, the latest time carnot can write; "+
		"give the workload earlier times or shorter runtimes", what, now.Sub(model.MaxTime+1), model.MaxTime)
}

// after is now plus secs rounded up to the second, saturating at
// model.Forever: work left at a tiny speed (a deep power cap, a large
// spread slowdown) can take longer than an int64 of seconds holds, and
// the conversion would wrap to a time in the past. Such a completion is
// past model.MaxTime, and the run stops there (pastMaxTime).
func after(now model.Time, secs float64) model.Time {
	if d := math.Ceil(secs); d < float64(model.Forever-now) {
		return now.Add(model.Duration(d))
	}
	return model.Forever
}
