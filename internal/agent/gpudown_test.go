package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
)

// A GPU lost as the agent starts (fallen off the bus) does not keep the
// node out: the agent registers every GPU, the lost one down and
// without a UUID, reports it down in its heartbeats, and once it answers
// again registers anew with its UUID, then reports it up. A GPU lost
// while the agent runs is reported down, then up, likewise. Before, the
// fake's library could not lose a GPU, and a real lost one made
// FromNVML fail: the agent did not start at all.
func TestAGPULostAtStartIsReportedDownThenUp(t *testing.T) {
	fake, err := gpu.NewFake(2, "H100", "n1", 1)
	if err != nil {
		t.Fatalf("fake GPUs with GPU 1 lost: %v", err)
	}
	srv := newFakeServer()
	startAgent(t, srv, func(c *Config) { c.Devices = fake })
	eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) > 0 }, "a heartbeat")
	reg := srv.registrations()[0]
	if len(reg.GPUs) != 2 || reg.GPUs[1].UUID != "" || reg.GPUs[1].Model != "H100" || reg.GPUs[0].UUID == "" {
		t.Fatalf("registered GPUs %+v, want both, GPU 1 an H100 without UUID", reg.GPUs)
	}
	if len(reg.GPUsDown) != 1 || reg.GPUsDown[0].Index != 1 || !strings.Contains(reg.GPUsDown[0].Reason, "fallen off the bus") {
		t.Fatalf("registered GPUs down %+v, want GPU 1, fallen off the bus", reg.GPUsDown)
	}
	if hb := srv.heartbeats()[0]; len(hb.GPUsDown) != 1 || hb.GPUsDown[0].Index != 1 || len(hb.GPUs) != 1 {
		t.Fatalf("heartbeat: GPUs down %+v, samples %+v; want GPU 1 down and GPU 0 sampled", hb.GPUsDown, hb.GPUs)
	}

	fake.SetLost(1, false)
	eventually(t, 5*time.Second, func() bool { return len(srv.registrations()) == 2 }, "a registration once GPU 1 is back")
	reg = srv.registrations()[1]
	if reg.GPUs[1].UUID == "" || len(reg.GPUsDown) != 0 {
		t.Fatalf("registration after GPU 1 came back: GPUs %+v, down %+v; want its UUID, none down", reg.GPUs, reg.GPUsDown)
	}
	upBeat := func() bool {
		hbs := srv.heartbeats()
		hb := hbs[len(hbs)-1]
		return len(hb.GPUsDown) == 0 && len(hb.GPUs) == 2
	}
	eventually(t, 5*time.Second, upBeat, "a heartbeat with both GPUs up")

	fake.SetLost(0, true)
	eventually(t, 5*time.Second, func() bool {
		hbs := srv.heartbeats()
		d := hbs[len(hbs)-1].GPUsDown
		return len(d) == 1 && d[0].Index == 0
	}, "a heartbeat with GPU 0 down")
	fake.SetLost(0, false)
	eventually(t, 5*time.Second, upBeat, "a heartbeat with GPU 0 up again")
	if n := len(srv.registrations()); n != 2 {
		t.Errorf("%d registrations, want 2: a GPU known by its UUID that comes back needs none", n)
	}
}

// A task the server placed on a GPU down (before it heard so) is not
// started: it would run on a GPU its CUDA cannot use. It fails to start
// (126) saying which GPU is down, and does not make its job avoid the
// node (the GPU may come back, and the server places nothing on it
// meanwhile). Before, a capped one was reported as a refused cap (the
// job then avoided the node for good) and an uncapped one ran.
func TestATaskOnAGPUDownIsNotStarted(t *testing.T) {
	fake, err := gpu.NewFake(2, "H100", "n1", 1)
	if err != nil {
		t.Fatal(err)
	}
	srv := newFakeServer()
	startAgent(t, srv, func(c *Config) { c.Devices = fake })
	eventually(t, 5*time.Second, func() bool { return len(srv.heartbeats()) > 0 }, "a heartbeat")
	capped := sh("capped", 0, "exit 0", nil)
	capped.GPUs, capped.PowerCapW = []int{1}, 500
	plain := sh("plain", 0, "exit 0", nil)
	plain.GPUs = []int{0, 1}
	srv.assign(capped, plain)
	for _, job := range []string{"capped", "plain"} {
		st := srv.waitStatus(t, job, 0, 1, ended)
		if st.State != api.ReplicaFailed || st.ExitCode == nil || *st.ExitCode != 126 || st.CapRefused || st.AvoidNode ||
			!strings.Contains(st.Error, "GPU 1 is down") {
			t.Errorf("%s on GPU 1, down: %+v; want failed to start (126), saying GPU 1 is down, without avoiding the node", job, st)
		}
	}
}
