package agent

import (
	"fmt"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
	"github.com/carnot-dc/carnot/internal/gpu"
)

// BenchmarkSettleShared is the check, as a task of a node of 8 GPUs
// starts or stops, of which of its GPUs another running task holds:
// 8 running tasks of one GPU each, and 248 ended ones the agent still
// reports (go test -bench SettleShared ./internal/agent).
func BenchmarkSettleShared(b *testing.B) {
	fake, err := gpu.NewFake(8, "H100", "n1")
	if err != nil {
		b.Fatal(err)
	}
	a := &Agent{cfg: Config{Devices: fake}, tasks: map[taskKey]*task{}, gpuUse: map[int]int{}}
	var first *task
	for i := range 256 {
		t := &task{key: taskKey{Job: fmt.Sprintf("j%d", i), Attempt: 1}, state: api.ReplicaExited,
			spec: api.Task{GPUs: []int{i % 8}}}
		if i < 8 {
			t.state = api.ReplicaRunning
			a.holdGPUsLocked(t, true)
		}
		a.tasks[t.key] = t
		if first == nil {
			first = t
		}
	}
	for b.Loop() {
		a.settleSharedLocked(first)
	}
}
