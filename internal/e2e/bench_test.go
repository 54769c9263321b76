package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// BenchmarkSubmitToRunning measures, on an idle `carnot dev` with fake
// GPUs, the time from sending a submission to its process running (the
// agent's start time of the replica, on the same clock), one job at a
// time. It reports the median and the 99th percentile.
func BenchmarkSubmitToRunning(b *testing.B) {
	d := startDev(b)
	b.ResetTimer()
	lat := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		spec, _ := json.Marshal(map[string]any{"tenant": "default", "gpus": 1, "command": []string{"true"}, "workdir": d.Work})
		sent := time.Now()
		j, err := d.cl.SubmitJob(context.Background(), spec, "")
		if err != nil {
			b.Fatal(err)
		}
		var got *api.Job
		for {
			got, err = d.cl.GetJob(context.Background(), j.ID)
			if err != nil {
				b.Fatal(err)
			}
			if api.Final(got.State) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		if got.State != api.StateSucceeded || len(got.Replicas) != 1 || got.Replicas[0].StartedAt == nil {
			b.Fatalf("job %s: %s %+v", j.ID, got.State, got.Replicas)
		}
		lat = append(lat, got.Replicas[0].StartedAt.Sub(sent))
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}
