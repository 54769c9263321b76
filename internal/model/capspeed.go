package model

import "math"

// CappedSpeed is the share of full speed a busy GPU of model gm is
// assumed to keep at its lowest power cap under the policy:
// (MinCapWatts / TDPWatts) ^ CappedSpeedExponent, or 1 when the policy
// never caps it (power or power capping off, a model that cannot be
// capped, an exponent of 0). A busy GPU draws at most its TDP, so a cap
// is never a smaller share of what it would draw uncapped than of its
// TDP: the estimate errs on the slow side as long as the exponent is not
// below the real one.
func (p *Policy) CappedSpeed(gm GPUModel) float64 {
	if !p.Power || !p.PowerCapping || !gm.CanCap() || gm.TDPWatts <= 0 || !(p.CappedSpeedExponent > 0) {
		return 1
	}
	r := float64(gm.MinCapWatts) / float64(gm.TDPWatts)
	if r >= 1 {
		return 1
	}
	return math.Pow(r, p.CappedSpeedExponent)
}

// CappedSpeeds maps each GPU model of f that a start may be capped on to
// its CappedSpeed: the policy caps the model, and some node of it lies in
// a site, hall or rack whose power limit is below that container's
// nameplate (the base power of its nodes and every GPU at TDP). Anywhere
// else every start fits at TDP, so the model is left out. nil when no
// model is in.
func (f *Facility) CappedSpeeds() map[string]float64 {
	speed := map[string]float64{}
	for name, gm := range f.GPUModels {
		if v := f.Policy.CappedSpeed(gm); v < 1 {
			speed[name] = v
		}
	}
	if len(speed) == 0 {
		return nil
	}
	// nameplates in watts, summed in whole node figures as the core
	// sums loads, and compared with the limits the core uses (kW × 1000)
	site, hall, rack := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for _, n := range f.Nodes {
		w := n.BaseWatts + float64(n.GPUs*f.GPUModels[n.GPUModel].TDPWatts)
		site[n.Site] += w
		hall[n.Hall] += w
		rack[n.Rack] += w
	}
	tight := map[string]bool{} // by kind and ID
	for _, s := range f.Sites {
		tight["site "+s.ID] = s.PowerEnvelopeKW > 0 && s.PowerEnvelopeKW*1000 < site[s.ID]
	}
	for _, h := range f.Halls {
		tight["hall "+h.ID] = h.PowerCapKW > 0 && h.PowerCapKW*1000 < hall[h.ID]
	}
	for _, r := range f.Racks {
		tight["rack "+r.ID] = r.PowerCapKW > 0 && r.PowerCapKW*1000 < rack[r.ID]
	}
	var out map[string]float64
	for _, n := range f.Nodes {
		v, ok := speed[n.GPUModel]
		if !ok || n.GPUs == 0 || !(tight["site "+n.Site] || tight["hall "+n.Hall] || tight["rack "+n.Rack]) {
			continue
		}
		if out == nil {
			out = map[string]float64{}
		}
		out[n.GPUModel] = v
	}
	return out
}

// SlowestRun is how long job j may run if it has to start at the lowest
// power cap of the slowest model it accepts among speeds (CappedSpeeds):
// its runtime limit when none of them can be capped. The core plans
// deadlines with it: a job that starts by Deadline − SlowestRun meets
// its deadline however it is capped.
func SlowestRun(j *Job, speeds map[string]float64) Duration {
	if j.GPUsPerReplica == 0 { // only GPUs are capped
		return j.RuntimeLimit
	}
	speed := 1.0
	for name, v := range speeds { // a minimum: map order does not matter
		if j.AcceptsModel(name) {
			speed = min(speed, v)
		}
	}
	return RunAt(j.RuntimeLimit, speed)
}

// RunAt is how long work that takes work at full speed takes at speed:
// rounded up to the second, and never beyond a century.
func RunAt(work Duration, speed float64) Duration {
	if speed >= 1 || work <= 0 {
		return work
	}
	const century = 100 * 365 * Day
	if d := math.Ceil(float64(work) / speed); d < float64(century) {
		return Duration(d)
	}
	return century
}
