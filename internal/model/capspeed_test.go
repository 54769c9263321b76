package model

import (
	"math"
	"testing"
)

// TestCappedSpeeds: a model is listed when the policy caps it and some
// site, hall or rack holding it has a limit below its nameplate.
func TestCappedSpeeds(t *testing.T) {
	base := func() *Facility {
		return &Facility{
			GPUModels: map[string]GPUModel{
				"H100":  {TDPWatts: 700, IdleWatts: 70, MinCapWatts: 200, MaxCapWatts: 700},
				"A100":  {TDPWatts: 400, IdleWatts: 50, MinCapWatts: 100, MaxCapWatts: 400},
				"MI300": {TDPWatts: 750, IdleWatts: 90}, // cannot be capped
			},
			Sites: []Site{{ID: "s"}},
			Halls: []Hall{{ID: "h", Site: "s"}},
			Racks: []Rack{{ID: "r1", Hall: "h"}, {ID: "r2", Hall: "h"}},
			Nodes: []Node{ // nameplates 6.6, 4.2 and 7 kW
				{Name: "a", Site: "s", Hall: "h", Rack: "r1", GPUModel: "H100", GPUs: 8, BaseWatts: 1000},
				{Name: "b", Site: "s", Hall: "h", Rack: "r2", GPUModel: "A100", GPUs: 8, BaseWatts: 1000},
				{Name: "c", Site: "s", Hall: "h", Rack: "r2", GPUModel: "MI300", GPUs: 8, BaseWatts: 1000},
				{Name: "cpu", Site: "s", Hall: "h", Rack: "r1", BaseWatts: 500},
			},
			Policy: DefaultPolicy(),
		}
	}
	h100, a100 := math.Sqrt(200.0/700), math.Sqrt(100.0/400)
	for _, tc := range []struct {
		name   string
		change func(f *Facility)
		want   map[string]float64
	}{
		{"no limits", func(*Facility) {}, nil},
		{"site at its nameplate", func(f *Facility) { f.Sites[0].PowerEnvelopeKW = 18.3 }, nil},
		{"site below it", func(f *Facility) { f.Sites[0].PowerEnvelopeKW = 18.2 }, map[string]float64{"H100": h100, "A100": a100}},
		{"hall below it", func(f *Facility) { f.Halls[0].PowerCapKW = 18 }, map[string]float64{"H100": h100, "A100": a100}},
		{"rack r1 at its nameplate", func(f *Facility) { f.Racks[0].PowerCapKW = 7.1 }, nil},
		{"rack r1 below it", func(f *Facility) { f.Racks[0].PowerCapKW = 7 }, map[string]float64{"H100": h100}},
		{"rack r2 below it", func(f *Facility) { f.Racks[1].PowerCapKW = 11 }, map[string]float64{"A100": a100}},
		{"capping off", func(f *Facility) { f.Sites[0].PowerEnvelopeKW, f.Policy.PowerCapping = 10, false }, nil},
		{"power off", func(f *Facility) { f.Sites[0].PowerEnvelopeKW, f.Policy.Power = 10, false }, nil},
		{"exponent 0", func(f *Facility) { f.Sites[0].PowerEnvelopeKW, f.Policy.CappedSpeedExponent = 10, 0 }, nil},
		{"exponent 1", func(f *Facility) { f.Sites[0].PowerEnvelopeKW, f.Policy.CappedSpeedExponent = 10, 1 },
			map[string]float64{"H100": 200.0 / 700, "A100": 0.25}},
	} {
		f := base()
		tc.change(f)
		got := f.CappedSpeeds()
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for m, v := range tc.want {
			if math.Abs(got[m]-v) > 1e-12 {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

// TestSlowestRun: the slowest accepted model's speed stretches the
// runtime limit, rounded up to the second; jobs without GPUs are never
// stretched.
func TestSlowestRun(t *testing.T) {
	speeds := map[string]float64{"H100": math.Sqrt(200.0 / 700), "A100": 0.5}
	for _, tc := range []struct {
		j    Job
		want Duration
	}{
		{Job{GPUsPerReplica: 8, RuntimeLimit: Hour}, 2 * Hour},
		{Job{GPUsPerReplica: 8, RuntimeLimit: Hour, GPUModels: []string{"H100"}}, 6735}, // 3600 / 0.5345 = 6734.9…
		{Job{GPUsPerReplica: 8, RuntimeLimit: Hour, GPUModels: []string{"B200"}}, Hour},
		{Job{RuntimeLimit: Hour}, Hour},
		{Job{GPUsPerReplica: 1, RuntimeLimit: 1000 * 365 * Day}, 100 * 365 * Day},
	} {
		if got := SlowestRun(&tc.j, speeds); got != tc.want {
			t.Errorf("%+v: %d s, want %d s", tc.j, got, tc.want)
		}
	}
}
