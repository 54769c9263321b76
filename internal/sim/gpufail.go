package sim

import (
	"math/rand/v2"
	"slices"

	"github.com/carnot-dc/carnot/internal/model"
)

// Single-GPU failures and repairs (Config.GPUMTBF, Config.GPUMTTR): each
// GPU of every node fails after exponentially distributed times, the job
// holding it stops and queues again, as on a node failure, and the GPU
// is down (model.GPUState.Down: the core places nothing on it) until a
// repair, while its node and its other GPUs run on.
//
// A GPU fails only while its node is up: a failure due while the node is
// down does not happen, and the GPU's next one is drawn from then (the
// draws being memoryless, its failures come at rate 1/GPUMTBF over the
// time its node is up). A GPU down when its node fails stays down after
// the node's repair, until its own. A down GPU draws its idle power, as
// the core's power formula counts it: the ledger is unchanged.

// MaxGPUMTBF bounds Config.GPUMTBF where it is read from flags and
// files: a hundred years. A GPU's MTBF is counted in years: a site of
// 10,000 GPUs that loses one a day has a per-GPU MTBF of 27 years.
const MaxGPUMTBF = 100 * 365 * model.Day

// gpuFailures is the twin's state of single-GPU failures.
type gpuFailures struct {
	rng  *rand.Rand // a stream of its own: the node failures' draws stay the same
	down int        // GPUs failed and not yet repaired
	// open maps a GPU down to its outage in Result.GPUOutages
	open map[gpuRef]int
}

// gpuRef is one GPU of a node.
type gpuRef struct {
	node string
	gpu  int
}

// GPUOutage is a GPU down while its node was up or down: nothing could run
// on it; it drew its idle power.
type GPUOutage struct {
	Node       string
	GPU        int
	Start, End model.Time
}

// startGPUFailures draws every GPU's first failure, in the facility's
// node order and GPU index order.
func (t *twin) startGPUFailures() {
	if t.cfg.GPUMTBF <= 0 {
		return
	}
	t.gpuFails.rng = rand.New(rand.NewPCG(uint64(t.cfg.Seed), 0x69f0a11))
	t.gpuFails.open = map[gpuRef]int{}
	for i := range t.cfg.Facility.Nodes {
		n := &t.cfg.Facility.Nodes[i]
		for g := 0; g < n.GPUs; g++ {
			t.q.pushGPU(t.res.Start.Add(t.drawGPU(t.cfg.GPUMTBF)), evGPUFail, n.Name, g)
		}
	}
}

// drawGPU is an exponentially distributed duration of the given mean,
// at least one second, from the GPU failures' stream.
func (t *twin) drawGPU(mean model.Duration) model.Duration {
	return max(1, model.Duration(t.gpuFails.rng.ExpFloat64()*float64(mean)))
}

// nodeDown reports whether node is down (a node failure).
func (t *twin) nodeDown(node string) bool {
	st := t.nodes[node]
	return st != nil && st.Condition == model.NodeDown
}

// gpuFail takes GPU gpu of node down: the job holding it stops, losing
// the work since its last checkpoint, and queues again; the GPU comes
// back after a repair.
func (t *twin) gpuFail(node string, gpu int, now model.Time) {
	if !t.goesOn() {
		return
	}
	if t.nodeDown(node) { // off with its node: it fails later, if at all
		t.q.pushGPU(now.Add(t.drawGPU(t.cfg.GPUMTBF)), evGPUFail, node, gpu)
		return
	}
	if js := t.holder(node, gpu); js != nil {
		if js.of != nil { // replicas leaving for a preemption: they leave now
			t.evictPart(js, now)
		} else {
			js.rec.GPUFailures++
			before := js.rec.LostGPUSeconds
			lost := t.interrupt(js, now)
			js.rec.GPUFailureLost += js.rec.LostGPUSeconds - before
			t.logf("%s gpu-fail-kill %s on %s:%d (lost %s of work; %s left)\n", now, js.job.ID, node, gpu, lost, js.remaining)
		}
	}
	st := t.state(node)
	st.GPUs = slices.Clone(st.GPUs) // snapshots share the slice (claim)
	st.GPUs[gpu].Down = true
	t.noted(node)
	t.gpuFails.down++
	t.gpuFails.open[gpuRef{node, gpu}] = len(t.res.GPUOutages)
	t.res.GPUOutages = append(t.res.GPUOutages, GPUOutage{Node: node, GPU: gpu, Start: now})
	t.logf("%s gpu-fail %s:%d\n", now, node, gpu)
	t.q.pushGPU(now.Add(t.drawGPU(t.cfg.GPUMTTR)), evGPURepair, node, gpu)
}

// gpuRepair brings a failed GPU back and, while the workload goes on,
// draws its next failure.
func (t *twin) gpuRepair(node string, gpu int, now model.Time) {
	st := t.state(node)
	st.GPUs = slices.Clone(st.GPUs)
	st.GPUs[gpu].Down = false
	t.noted(node)
	t.gpuFails.down--
	ref := gpuRef{node, gpu}
	t.res.GPUOutages[t.gpuFails.open[ref]].End = now
	delete(t.gpuFails.open, ref)
	t.logf("%s gpu-repair %s:%d\n", now, node, gpu)
	if t.goesOn() {
		t.q.pushGPU(now.Add(t.drawGPU(t.cfg.GPUMTBF)), evGPUFail, node, gpu)
	}
}

// holder is the running job (or the replicas leaving a deployment for a
// preemption) with a replica on GPU gpu of node, nil when it is free.
func (t *twin) holder(node string, gpu int) *jobState {
	for _, js := range t.run.jobs {
		for _, r := range js.alloc.Replicas {
			if r.Node == node && slices.Contains(r.GPUs, gpu) {
				return js
			}
		}
	}
	return nil
}
