package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/client"
)

// soakFacility writes a facility of one site with nodes fake-0000… (8
// H100 each) in racks of 100, a power envelope that does not bind.
func soakFacility(t testing.TB, path string, nodes int) {
	var b strings.Builder
	fmt.Fprintf(&b, "name: soak\nsites:\n  - id: local\n    name: soak\n    country: FR\n    operator: bench\n    power_envelope_kw: %d\n    pue: 1.2\n    grid_zone: FR\n    halls:\n      - id: h1\n        cooling: liquid\n        racks:\n", nodes*20)
	for r := 0; r*100 < nodes; r++ {
		last := min(nodes, (r+1)*100) - 1
		fmt.Fprintf(&b, "          - id: r%d\n            nodes:\n              - names: fake-[%04d-%04d]\n                gpu_model: H100\n                gpus: 8\n                cpus: 128\n                memory_gib: 1024\n                base_watts: 2000\n", r, r*100, last)
	}
	fmt.Fprintf(&b, "tenants:\n  - name: default\npolicy:\n  quotas: false\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// vmHWM is a process's peak resident memory in MiB.
func vmHWM(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkSoak drives a real carnot server (SQLite) with a fake fleet of
// $CARNOT_SOAK_NODES nodes (default 1,000) through $CARNOT_SOAK_JOBS jobs
// (default 10,000) of one GPU lasting 2 s each, submitted through the API
// by 64 clients, and reports how long it took, the server's peak memory
// and the submit → start latency:
//
//	CARNOT_SOAK_JOBS=100000 go test -run '^$' -bench Soak -benchtime 1x -timeout 2h ./internal/e2e/
func BenchmarkSoak(b *testing.B) {
	nodes, jobs := 1000, 10000
	if v, err := strconv.Atoi(os.Getenv("CARNOT_SOAK_NODES")); err == nil && v > 0 {
		nodes = v
	}
	if v, err := strconv.Atoi(os.Getenv("CARNOT_SOAK_JOBS")); err == nil && v > 0 {
		jobs = v
	}
	for range b.N {
		soak(b, nodes, jobs)
	}
}

func soak(b *testing.B, nodes, jobs int) {
	dir := b.TempDir()
	fac := filepath.Join(dir, "facility.yaml")
	soakFacility(b, fac, nodes)
	srvDir, listen, admin := filepath.Join(dir, "server"), freePort(b), freePort(b)
	srv := exec.Command(carnotBin, "server", "--facility", fac, "--data-dir", srvDir, "--listen", listen,
		"--admin-listen", admin, "--log-level", "warn")
	stdout, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	tokens := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		var acc strings.Builder
		for {
			n, err := stdout.Read(buf)
			acc.Write(buf[:n])
			for _, l := range strings.Split(acc.String(), "\n") {
				if tok, ok := bootstrapToken(b, l); ok {
					tokens <- tok
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() { srv.Process.Kill(); srv.Wait() }()
	tok := <-tokens
	d := &dev{t: b, CA: filepath.Join(srvDir, "tls", "ca.crt"), Token: tok}
	cl, err := client.New("https://"+listen, client.WithToken(tok), client.WithTLS(d.tlsConfig()))
	if err != nil {
		b.Fatal(err)
	}
	ops, _ := client.New("https://"+admin, client.WithToken(tok), client.WithTLS(d.tlsConfig()))
	ctx := context.Background()
	join, err := ops.CreateToken(ctx, api.TokenRequest{Name: "soak", Role: "join", Site: "local", TTLSeconds: 3600})
	if err != nil {
		b.Fatal(err)
	}
	fleet := exec.Command(carnotBin, "agent", "--fleet", strconv.Itoa(nodes), "--fake", "--fake-gpus", "8",
		"--server", "https://"+admin, "--ca", d.CA, "--join-token", join.Secret, "--data-dir", filepath.Join(dir, "fleet"),
		"--site", "local", "--log-level", "warn")
	fleet.Stderr = os.Stderr
	if err := fleet.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { fleet.Process.Kill(); fleet.Wait() }()
	t0 := time.Now()
	for {
		nl, err := ops.ListNodes(ctx)
		ready := 0
		if err == nil {
			for _, n := range nl.Nodes {
				if n.Condition == api.NodeReady {
					ready++
				}
			}
		}
		if ready == nodes {
			break
		}
		if time.Since(t0) > 10*time.Minute {
			b.Fatalf("%d of %d nodes ready after 10 minutes", ready, nodes)
		}
		time.Sleep(500 * time.Millisecond)
	}
	registered := time.Since(t0)
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(jobs) {
					return
				}
				spec := fmt.Appendf(nil, `{"id":"s%07d","tenant":"default","gpus":1,"env":{"FAKE_DURATION":"2s"},"command":["train"]}`, i)
				if _, err := cl.SubmitJob(ctx, spec, fmt.Sprintf("k%07d", i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	submitted := time.Since(start)
	for {
		l, err := cl.ListJobs(ctx, client.ListOptions{States: []string{api.StatePending, api.StateRunning}, Limit: 1})
		if err == nil && len(l.Jobs) == 0 {
			break
		}
		if time.Since(start) > 2*time.Hour {
			b.Fatalf("not done after 2 hours")
		}
		time.Sleep(time.Second)
	}
	all := time.Since(start)
	b.StopTimer()
	var waits []float64
	var o client.ListOptions
	o.Limit = 1000
	js, err := cl.AllJobs(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	failed := 0
	for _, j := range js {
		if j.State != api.StateSucceeded {
			failed++
		}
		if j.StartTime != nil {
			waits = append(waits, j.StartTime.Sub(j.SubmitTime).Seconds())
		}
	}
	slices.Sort(waits)
	pct := func(p float64) float64 {
		if len(waits) == 0 {
			return 0
		}
		return waits[min(len(waits)-1, int(p*float64(len(waits))))]
	}
	b.ReportMetric(registered.Seconds(), "s-to-register")
	b.ReportMetric(float64(jobs)/submitted.Seconds(), "submissions/s")
	b.ReportMetric(all.Seconds(), "s-all-done")
	b.ReportMetric(pct(0.5), "wait-p50-s")
	b.ReportMetric(pct(0.99), "wait-p99-s")
	b.ReportMetric(vmHWM(srv.Process.Pid), "server-peak-MiB")
	b.ReportMetric(vmHWM(fleet.Process.Pid), "fleet-peak-MiB")
	b.ReportMetric(float64(failed), "not-succeeded")
	if len(js) != jobs {
		b.Errorf("%d jobs listed, want %d", len(js), jobs)
	}
}
