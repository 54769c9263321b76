package agent

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/carnot-dc/carnot/internal/api"
)

// GPU health. A GPU the node's NVML cannot read (lost: fallen off the
// bus, in need of a reset) is down, as a device plugin reports a device
// unhealthy: the agent runs on the others, and every registration and
// heartbeat lists the GPUs down (api.Register.GPUsDown,
// api.Heartbeat.GPUsDown), read again at each heartbeat, so that the
// server places nothing on them and shows them. A GPU that answers
// again is up at the next heartbeat. One that was down when the node
// registered had no UUID then: the agent registers again once it is
// back, so that the server names it by its UUID in CUDA_VISIBLE_DEVICES.
// The GPUs of an ended task whose processes outlived SIGKILL (a driver
// call that hangs: uninterruptible sleep) are down likewise while one of
// those processes is there (outlived): it may still hold their memory,
// and so they are under the next agent on the data directory
// (outlived.go). So are the GPUs of a crashed agent's task whose
// processes outlive the next agent's SIGKILL (leftheld.go).

// errGPUBack ends a session: a GPU the registration listed without a
// UUID (down) answers again, and the node is registered anew.
var errGPUBack = errors.New("a GPU down at registration is back")

// downList is down as the API lists it, by index.
func downList(down map[int]string) []api.GPUDown {
	out := make([]api.GPUDown, 0, len(down))
	for _, g := range slices.Sorted(maps.Keys(down)) {
		out = append(out, api.GPUDown{Index: g, Reason: down[g]})
	}
	return out
}

// gpuHealth reads the GPUs' health again: the GPUs down now, and their
// descriptions (read after, so that a GPU back is described anew).
func (a *Agent) gpuHealth() (map[int]string, []api.GPUInfo) {
	if a.cfg.Devices == nil {
		return nil, nil
	}
	down := a.cfg.Devices.Down()
	return down, a.cfg.Devices.Info()
}

// noteDownLocked records the GPUs down now, says which went down or came
// back, and gives a GPU back that had no power limit to restore (down
// since the agent started) the one it has now. It reports whether a GPU
// that the registration listed without a UUID is back (errGPUBack).
// Caller holds mu.
func (a *Agent) noteDownLocked(down map[int]string, info []api.GPUInfo) bool {
	for g, why := range down {
		if _, was := a.gpusDown[g]; !was {
			a.log.Warn("GPU down: the server places nothing on it until it answers again", "gpu", g, "why", why)
		}
	}
	back := false
	for g := range a.gpusDown {
		if _, still := down[g]; still {
			continue
		}
		a.log.Info("GPU up again", "gpu", g)
		if g < len(info) && a.baseLimits[g] <= 0 {
			a.baseLimits[g] = info[g].PowerLimitW
		}
		if a.noUUID[g] && g < len(info) && info[g].UUID != "" {
			back = true
		}
	}
	a.gpusDown = down
	return back
}

// downErrLocked says why a task on gpus is not started when one of them
// is down at the last reading: its CUDA could not use it. The start
// fails (126) without avoiding the node: the GPU may come back, and the
// server places nothing on it once a heartbeat says it is down. Caller
// holds mu.
func (a *Agent) downErrLocked(gpus []int) error {
	for _, g := range gpus {
		if why, down := a.gpusDown[g]; down {
			return fmt.Errorf("not started: GPU %d is down (%s); the server places nothing on it until its agent reports it up", g, why)
		}
	}
	return nil
}

// outlived is an ended task's processes that outlived SIGKILL, with
// their start times (a PID reused since is not theirs), and its GPUs.
type outlived struct {
	task  string
	gpus  []int
	procs map[int]uint64
}

// noteOutlivedLocked records the processes of ended task t that
// outlived SIGKILL (x.Outlived): its GPUs are down while one is there.
// x.Forget is called once they are recorded for the next agent (at once
// when there is nothing to record; else when outlived.json is written,
// at a later heartbeat if this write fails). Caller holds mu.
func (a *Agent) noteOutlivedLocked(t *task, x Exit) {
	if x.Forget != nil {
		a.outlivedForget = append(a.outlivedForget, x.Forget)
	}
	if len(x.Outlived) > 0 && len(t.spec.GPUs) > 0 {
		o := outlived{task: t.name(), gpus: slices.Clone(t.spec.GPUs), procs: map[int]uint64{}}
		for _, pid := range x.Outlived {
			if start, err := procStart(pid); err == nil {
				o.procs[pid] = start
			}
		}
		if len(o.procs) > 0 {
			a.outlived = append(a.outlived, o)
			a.recordOutlivedLocked()
			return
		}
	}
	a.forgetOutlivedLocked()
}

// forgetOutlivedLocked calls the Forget of the ends whose processes that
// outlived SIGKILL are recorded, unless the last write of outlived.json
// failed. Caller holds mu.
func (a *Agent) forgetOutlivedLocked() {
	if a.outlivedUnrecorded {
		return
	}
	for _, f := range a.outlivedForget {
		f()
	}
	a.outlivedForget = nil
}

// withOutlivedLocked is down, the GPUs down by their devices' reading,
// with those of ended tasks whose processes that outlived SIGKILL are
// still there; it forgets the processes gone. Caller holds mu.
func (a *Agent) withOutlivedLocked(down map[int]string) map[int]string {
	if len(a.outlived) == 0 {
		return down
	}
	down = maps.Clone(down)
	kept := a.outlived[:0]
	changed := a.outlivedUnrecorded
	for _, o := range a.outlived {
		var left []int
		for pid, start := range o.procs {
			if stillThere(pid, start) { // a zombie holds nothing: ended
				left = append(left, pid)
			} else {
				delete(o.procs, pid)
				changed = true
			}
		}
		if len(left) == 0 {
			a.log.Info("the processes of an ended task that outlived SIGKILL are gone: its GPUs are free", "task", o.task, "gpus", o.gpus)
			continue
		}
		kept = append(kept, o)
		slices.Sort(left)
		for _, g := range o.gpus {
			if _, ok := down[g]; ok {
				continue
			}
			if down == nil {
				down = map[int]string{}
			}
			down[g] = fmt.Sprintf("held by process(es) %v of ended task %s, which outlived SIGKILL (uninterruptible sleep in the driver? see nvidia-smi and the kernel log)", left, o.task)
		}
	}
	clear(a.outlived[len(kept):])
	a.outlived = kept
	if changed {
		a.recordOutlivedLocked()
	}
	return down
}
