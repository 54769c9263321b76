package storetest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// benchSpec is a job file's JSON form after defaults, as the server stores
// it in Job.Spec.
const benchSpec = `{"name":"llama-70b-finetune-%[1]d","tenant":"acme","kind":"job",` +
	`"priority_class":"standard","replicas":2,"gpus_per_replica":8,"gpu_model":"H200",` +
	`"command":["torchrun","--nnodes=2","--nproc-per-node=8","train.py","--config","configs/70b.yaml"],` +
	`"env":{"NCCL_DEBUG":"WARN","HF_HOME":"/data/hf","WANDB_PROJECT":"finetune"},` +
	`"workdir":"/home/acme/llama","jurisdictions":["eu"],"max_runtime":"48h",` +
	`"restart_policy":{"max_restarts":3,"backoff":"30s"},"checkpoint":{"signal":"SIGUSR1","grace":"120s"},` +
	`"power":{"cap_w":600,"flexible":true},"deadline":"2026-03-20T00:00:00Z"}`

// BenchJob is the ith job of the stores' benchmarks: a realistic pending
// job, about 1 KB stored, so that both stores' figures are for the same
// work.
func BenchJob(i int64) *api.Job {
	submit := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	return &api.Job{
		ID:            fmt.Sprintf("j-%012d", i),
		Kind:          "job",
		Tenant:        []string{"acme", "beta", "corp"}[i%3],
		PriorityClass: "standard",
		State:         api.StatePending,
		Spec:          json.RawMessage(fmt.Sprintf(benchSpec, i)),
		SubmitTime:    submit,
		Message:       "waiting for quota",
		Reason: &api.Reason{Code: "quota", Message: "quota of tenant acme exhausted, 64/64 H200 in use",
			EstStart: &submit, Pass: submit},
	}
}
