package scenario

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/model"
)

// fakeSeries is an hourly series over 2023 with a daily cycle, for tests
// that need a grid but not real data.
func fakeSeries(zone string) model.GridSeries {
	gs := model.GridSeries{Zone: zone}
	start := model.TimeOf(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC))
	for h := range 365 * 24 {
		x := math.Sin(2 * math.Pi * float64(h%24) / 24)
		gs.Hours = append(gs.Hours, model.GridHour{Start: start + model.Time(3600*h), CarbonGkWh: 300 + 100*x, PriceEURMWh: 80 + 40*x})
	}
	return gs
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
