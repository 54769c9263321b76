package fleet

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestFleetScale measures a fleet of $CARNOT_FLEET_SCALE nodes (skipped
// without it) against an in-process server heartbeating every second:
// enrollment, registration, and the process's heap and goroutines once
// every node is registered. For example:
//
//	CARNOT_FLEET_SCALE=1000 go test -run TestFleetScale -v ./internal/fleet/
func TestFleetScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CARNOT_FLEET_SCALE"))
	if n <= 0 {
		t.Skip("set CARNOT_FLEET_SCALE=N to measure a fleet of N nodes")
	}
	s := startServerBeating(t, time.Second)
	cfg := s.config(n, t.TempDir())
	cfg.GPUs = 8
	began := time.Now()
	f := s.start(cfg)
	t.Logf("%d nodes enrolled and registered in %s; stats %+v", n, time.Since(began).Round(time.Millisecond), f.Stats())
	time.Sleep(10 * time.Second)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("server and fleet in one process: heap in use %.1f MiB, sys %.1f MiB, %d goroutines; stats %+v",
		float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20), runtime.NumGoroutine(), f.Stats())
}
