package server

import (
	"fmt"
	"math"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/model"
)

// unknownGPUWatts bounds a power reading from a GPU whose model gives
// no power figure: well above any GPU board made (about 1.4 kW today).
const unknownGPUWatts = 10000

// maxPowerW is the highest power reading taken from a GPU of model m:
// twice the higher of its TDP and its highest power cap, room for
// boards that draw above their TDP and for the sensor, while a reading
// beyond it is not a measurement (it would count as energy, cost and
// carbon, and sum to +Inf).
func maxPowerW(m model.GPUModel) float64 {
	if w := max(m.TDPWatts, m.MaxCapWatts); w > 0 {
		return 2 * float64(w)
	}
	return unknownGPUWatts
}

// checkSamples checks GPU telemetry: an index of one of the node's gpus
// GPUs, at most once, and finite, non-negative readings, the power no
// more than its GPU model (m) can draw.
func checkSamples(samples []api.GPUSample, gpus int, m model.GPUModel) []api.FieldError {
	var errs []api.FieldError
	seen := map[int]bool{}
	limit := maxPowerW(m)
	for i, smp := range samples {
		f := fmt.Sprintf("gpus[%d]", i)
		switch {
		case smp.Index < 0 || smp.Index >= gpus:
			errs = append(errs, api.FieldError{Field: f + ".index", Message: fmt.Sprintf("the node has GPUs 0 to %d (got %d)", gpus-1, smp.Index)})
		case seen[smp.Index]:
			errs = append(errs, api.FieldError{Field: f + ".index", Message: fmt.Sprintf("GPU %d is reported twice", smp.Index)})
		}
		seen[smp.Index] = true
		for _, v := range []struct {
			name string
			x    float64
		}{{"power_w", smp.PowerW}, {"utilization", smp.Utilization}, {"mem_used_mib", smp.MemUsedMiB}, {"temp_c", smp.TempC}} {
			if math.IsNaN(v.x) || math.IsInf(v.x, 0) || (v.x < 0 && v.name != "temp_c") {
				errs = append(errs, api.FieldError{Field: f + "." + v.name, Message: fmt.Sprintf("must be a finite number ≥ 0 (got %v)", v.x)})
			}
		}
		if smp.PowerW > limit {
			errs = append(errs, api.FieldError{Field: f + ".power_w", Message: fmt.Sprintf("%v W is beyond what GPU %d (%s) can draw: at most %v W, twice the higher of the model's TDP and highest power cap",
				smp.PowerW, smp.Index, or(m.Name, "model unknown"), limit)})
		}
	}
	return errs
}

// checkTaskLimits checks the power limits tasks report in force (a
// heartbeat's or a registration's) on GPUs of model m: none below 0,
// which is no limit (0 is the GPUs' own), nor beyond what a GPU of m can
// draw (maxPowerW), which is no reading. The server counts a replica at
// the limit its agent reports above its cap: a report it cannot read
// must neither end that nor count a site full.
func checkTaskLimits(tasks []api.TaskStatus, m model.GPUModel) []api.FieldError {
	var errs []api.FieldError
	limit := maxPowerW(m)
	for i, t := range tasks {
		if t.PowerCapW == nil {
			continue
		}
		f := fmt.Sprintf("tasks[%d].power_cap_w", i)
		switch w := *t.PowerCapW; {
		case w < 0:
			errs = append(errs, api.FieldError{Field: f, Message: fmt.Sprintf("must be ≥ 0 watts, 0 for the GPUs' own limit (got %d)", w)})
		case float64(w) > limit:
			errs = append(errs, api.FieldError{Field: f, Message: fmt.Sprintf("%d W is beyond what a GPU of the node (%s) can be set to: at most %v W, twice the higher of the model's TDP and highest power cap",
				w, or(m.Name, "model unknown"), limit)})
		}
	}
	return errs
}
