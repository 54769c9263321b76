package agent

import (
	"math"

	"github.com/carnot-dc/carnot/internal/api"
)

// plausible keeps the GPU samples whose power reading is one: finite,
// not negative and at most twice the higher of the GPU's highest power
// cap and its limit now (infos, by index) — room for boards that draw
// above their limit and for the sensor. A driver reading that fails (a
// NaN, an all-ones register read as 4,294,967 W) is left out, and warn
// is told of it: sent, it would make the server refuse the whole
// heartbeat (its task reports included) and the node would go not
// ready over one sensor. The server applies its own bound as well.
func plausible(samples []api.GPUSample, infos []api.GPUInfo, warn func(s api.GPUSample, limit float64)) []api.GPUSample {
	out := samples[:0]
	for _, s := range samples {
		limit := math.Inf(1)
		if s.Index >= 0 && s.Index < len(infos) {
			if w := max(infos[s.Index].MaxCapW, infos[s.Index].PowerLimitW); w > 0 {
				limit = 2 * float64(w)
			}
		}
		if math.IsNaN(s.PowerW) || s.PowerW < 0 || s.PowerW > limit {
			warn(s, limit)
			continue
		}
		out = append(out, s)
	}
	return out
}
