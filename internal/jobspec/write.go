package jobspec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/carnot-dc/carnot/internal/model"
)

// wireJob is a job as Write emits it: one JSON object per line, fields in
// the documented order, times as Unix seconds and durations as seconds.
type wireJob struct {
	ID              string     `json:"id"`
	Kind            model.Kind `json:"kind,omitempty"`
	Tenant          string     `json:"tenant"`
	PriorityClass   string     `json:"priority_class"`
	Replicas        int        `json:"replicas"`
	MinReplicas     int        `json:"min_replicas,omitempty"`
	GPUs            int        `json:"gpus"`
	GPUModel        []string   `json:"gpu_model,omitempty"`
	CPUs            int        `json:"cpus,omitempty"`
	MemoryGiB       int        `json:"memory_gib,omitempty"`
	Preemptible     bool       `json:"preemptible"`
	CheckpointGrace int64      `json:"checkpoint_grace,omitempty"`
	RuntimeLimit    int64      `json:"runtime_limit,omitempty"`
	Jurisdictions   []string   `json:"jurisdictions,omitempty"`
	DataClass       string     `json:"data_class,omitempty"`
	EarliestStart   int64      `json:"earliest_start,omitempty"`
	Deadline        int64      `json:"deadline,omitempty"`
	Topology        *wireTopo  `json:"topology,omitempty"`
	ExclusiveNode   bool       `json:"exclusive_node,omitempty"`
	SubmitTime      int64      `json:"submit_time,omitempty"`
	Command         []string   `json:"command,omitempty"`
	// Env is written with its keys sorted (encoding/json sorts map keys),
	// so Write stays deterministic.
	Env        map[string]string `json:"env,omitempty"`
	WorkDir    string            `json:"workdir,omitempty"`
	Restart    string            `json:"restart,omitempty"`
	MaxRetries *int              `json:"max_retries,omitempty"` // with restart, even when 0
	DependsOn  []string          `json:"depends_on,omitempty"`
}

type wireTopo struct {
	Level    string `json:"level"`
	Required bool   `json:"required"`
}

// Write writes jobs as JSON Lines. Every job that Load accepted reads
// back identical, with or without the facility: preemptible and the
// priority class are always written out, kind only for deployments,
// topology only when it is not the default {site, preferred}, restart
// and max_retries only for restart: on-failure.
func Write(w io.Writer, jobs []*model.Job) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i, j := range jobs {
		if j == nil {
			return fmt.Errorf("write jobs: job %d is nil", i)
		}
		if err := enc.Encode(toWire(j)); err != nil {
			return fmt.Errorf("write job %s: %w", j.ID, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write jobs: %w", err)
	}
	return nil
}

func toWire(j *model.Job) *wireJob {
	w := &wireJob{
		ID:              j.ID,
		Tenant:          j.Tenant,
		PriorityClass:   j.PriorityClass,
		Replicas:        j.Replicas,
		GPUs:            j.GPUsPerReplica,
		GPUModel:        j.GPUModels,
		CPUs:            j.CPUsPerReplica,
		MemoryGiB:       j.MemGiBPerReplica,
		Preemptible:     j.Preemptible,
		CheckpointGrace: int64(j.CheckpointGrace),
		RuntimeLimit:    int64(j.RuntimeLimit),
		Jurisdictions:   j.Jurisdictions,
		DataClass:       j.DataClass,
		EarliestStart:   int64(j.EarliestStart),
		Deadline:        int64(j.Deadline),
		ExclusiveNode:   j.ExclusiveNode,
		SubmitTime:      int64(j.SubmitTime),
		Command:         j.Command,
		Env:             j.Env,
		WorkDir:         j.WorkDir,
	}
	w.Restart, w.MaxRetries = restartPolicy(j.Restart)
	for _, d := range j.DependsOn {
		w.DependsOn = append(w.DependsOn, d.String())
	}
	if j.Kind != model.KindJob {
		w.Kind = j.Kind
		w.MinReplicas = j.MinReplicas
	}
	if j.Topology != DefaultTopology {
		w.Topology = &wireTopo{Level: j.Topology.Level.String(), Required: j.Topology.Required}
	}
	return w
}

// Marshal is one job as Write writes it, without the newline.
func Marshal(j *model.Job) ([]byte, error) {
	if j == nil {
		return nil, fmt.Errorf("marshal job: nil")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(toWire(j)); err != nil {
		return nil, fmt.Errorf("marshal job %s: %w", j.ID, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}
