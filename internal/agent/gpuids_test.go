package agent

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/gpu"
)

// An agent restarted once a GPU is gone from NVML's count (GPU 1 of 4:
// NVML now lists 3, GPUs 2 and 3 at its indices 1 and 2) names each GPU
// by the index it had: it registers 4 GPUs, GPU 1 down, GPUs 2 and 3
// with their own UUIDs, and a task placed on GPU 3 runs on, and is
// reported for, GPU 3. Before, it registered 3 GPUs, GPU 2 being the
// old GPU 3: the server's GPU 2 was another GPU than the agent's.
func TestRestartedAgentKeepsTheGPUsIndicesWhenOneIsGone(t *testing.T) {
	dir := t.TempDir()
	fake, err := gpu.NewFake(4, "H100", "n1")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	srv := newFakeServer()
	run := func() (context.CancelFunc, <-chan error) {
		ag, err := New(Config{Name: "n1", DataDir: dir, Devices: fake, FakeGPUs: true, CPUs: 1, MemoryGiB: 1, Heartbeat: 50 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))}, srv)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- ag.Run(ctx) }()
		return cancel, done
	}
	cancel, done := run()
	eventually(t, 5*time.Second, func() bool { return len(srv.registrations()) == 1 }, "the registration")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fake.SetRemoved(1, true)
	if err := fake.Reopen(); err != nil { // NVML as the next agent reads it
		t.Fatal(err)
	}
	cancel, done = run()
	defer func() { cancel(); <-done }()
	eventually(t, 5*time.Second, func() bool { return len(srv.registrations()) == 2 }, "the second registration")
	reg := srv.registrations()[1]
	if len(reg.GPUs) != 4 {
		t.Fatalf("the restarted agent registered %d GPUs: %+v; want 4, GPU 1 down", len(reg.GPUs), reg.GPUs)
	}
	for _, i := range []int{0, 2, 3} {
		if g := reg.GPUs[i]; g.Index != i || g.UUID != srv.registrations()[0].GPUs[i].UUID {
			t.Errorf("registered GPU %d: %+v; want the UUID it had, %s", i, g, srv.registrations()[0].GPUs[i].UUID)
		}
	}
	if len(reg.GPUsDown) != 1 || reg.GPUsDown[0].Index != 1 {
		t.Errorf("GPUs down at registration: %+v; want GPU 1 alone", reg.GPUsDown)
	}
	task := sh("j", 0, "exec sleep 30", nil)
	task.GPUs = []int{3}
	srv.assign(task)
	srv.waitStatus(t, "j", 0, 1, running)
	eventually(t, 5*time.Second, func() bool {
		hbs := srv.heartbeats()
		if len(hbs) == 0 {
			return false
		}
		util := map[int]float64{}
		for _, s := range hbs[len(hbs)-1].GPUs {
			util[s.Index] = s.Utilization
		}
		_, one := util[1]
		return util[3] == 80 && util[2] == 0 && !one
	}, "a heartbeat with GPU 3 busy, GPU 2 idle and GPU 1 left out: %+v", srv.heartbeats())
}
