package sched

import "github.com/carnot-dc/carnot/internal/model"

// A job's deadline is met if it starts by its latest start. A job that
// the policy may start power-capped can run slower than its runtime
// limit assumes, so its latest start is planned as if it ran at its
// models' lowest caps (model.SlowestRun), wherever a site, hall or rack
// may make a start capped: deferral never waits past it, and the job
// goes first in its priority level from an hour before it
// (urgencyWindow).

// stretch is, for one facility, how much slower than full speed a job
// may run if it has to start at its lowest power cap: the speeds of
// model.Facility.CappedSpeeds and the slowest of them.
type stretch struct {
	speed   map[string]float64 // model.Facility.CappedSpeeds
	slowest float64            // the lowest of them (1 if none)
}

func newStretch(fac *model.Facility) *stretch {
	s := &stretch{speed: fac.CappedSpeeds(), slowest: 1}
	for _, v := range s.speed { // a minimum: map order does not matter
		s.slowest = min(s.slowest, v)
	}
	return s
}

// run is model.SlowestRun(j, s.speed), with the slowest model at hand
// for a job that takes any.
func (s *stretch) run(j *model.Job) model.Duration {
	if s.speed == nil || j.GPUsPerReplica == 0 { // only GPUs are capped
		return j.RuntimeLimit
	}
	speed := s.slowest
	if len(j.GPUModels) > 0 {
		speed = 1
		for _, m := range j.GPUModels {
			if v, ok := s.speed[m]; ok {
				speed = min(speed, v)
			}
		}
	}
	return model.RunAt(j.RuntimeLimit, speed)
}

// hasDeadline reports whether j has a latest start: a deadline and a
// runtime limit.
func hasDeadline(j *model.Job) bool { return j.Deadline > 0 && j.RuntimeLimit > 0 }

// latestStart is the last start that meets j's deadline even if j runs
// at its lowest cap (see run); meaningful only where hasDeadline.
func (s *stretch) latestStart(j *model.Job) model.Time {
	return j.Deadline - model.Time(s.run(j))
}
